//! The little DER the throwaway PKI writes and reads: a tag-length-value, one element, and where
//! a byte string sits in another. The test bed's own, so it needs nothing from the helper.

/// A DER tag-length-value, the length in its minimal form.
pub(crate) fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(contents.len() + 6);
    out.push(tag);
    let len = contents.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(contents);
    out
}

/// One element at the start of `bytes`: (tag, contents, what follows). Single-byte tags,
/// definite lengths of up to 4 bytes.
pub(crate) fn element(bytes: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *bytes.first()?;
    let first = *bytes.get(1)?;
    let (length, header) = if first < 0x80 {
        (usize::from(first), 2)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 {
            return None;
        }
        let length = bytes
            .get(2..2 + count)?
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (length, 2 + count)
    };
    let end = header.checked_add(length)?;
    let body = bytes.get(header..end)?;
    Some((tag, body, &bytes[end..]))
}

/// Where `needle` first occurs in `haystack`.
pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_minimal_lengths_and_reads_them_back() {
        for len in [0usize, 1, 0x7f, 0x80, 0xff, 0x100, 0x1_0000] {
            let contents = vec![0xab; len];
            let encoded = tlv(0x04, &contents);
            let (tag, body, rest) = element(&encoded).unwrap();
            assert_eq!((tag, body.len(), rest.len()), (0x04, len, 0), "{len}");
        }
        assert_eq!(tlv(0x30, &[1, 2]), [0x30, 2, 1, 2]);
        assert_eq!(&tlv(0x04, &[0; 0x80])[..3], [0x04, 0x81, 0x80]);
        assert!(element(&[0x04, 0x05, 1]).is_none(), "truncated");
        assert!(element(&[0x04, 0x80]).is_none(), "indefinite length");
        assert_eq!(find(b"abcabc", b"ca"), Some(2));
        assert_eq!(find(b"abc", b"x"), None);
    }
}
