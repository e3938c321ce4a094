//! The little DER the key sources need: writing a tag-length-value, an unsigned INTEGER, an
//! ECDSA signature and a PKCS#1 RSA public key, and reading one element. One place for what the
//! PKCS#11, TPM, ML-DSA and test-PKI code each wrote before.

use super::PublicKey;

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

/// A DER INTEGER from unsigned big-endian bytes: minimal, with a 0x00 when the high bit is set.
pub(crate) fn unsigned_integer(big_endian: &[u8]) -> Vec<u8> {
    let skip = big_endian.iter().take_while(|b| **b == 0).count();
    let trimmed = &big_endian[skip..];
    let mut contents = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        contents.push(0);
    }
    contents.extend_from_slice(trimmed);
    tlv(0x02, &contents)
}

/// `SEQUENCE { INTEGER r, INTEGER s }`, the form ECDSA signatures take on the wire.
pub(crate) fn ecdsa_signature(r: &[u8], s: &[u8]) -> Vec<u8> {
    let mut contents = unsigned_integer(r);
    contents.extend_from_slice(&unsigned_integer(s));
    tlv(0x30, &contents)
}

/// An RSA public key from its big-endian modulus and exponent, as canonical PKCS#1 DER.
pub(crate) fn rsa_public_key(modulus: &[u8], exponent: &[u8]) -> PublicKey {
    let skip = modulus.iter().take_while(|b| **b == 0).count();
    let significant = &modulus[skip..];
    let bits = match significant.first() {
        Some(top) => significant.len() * 8 - top.leading_zeros() as usize,
        None => 0,
    };
    let mut contents = unsigned_integer(modulus);
    contents.extend_from_slice(&unsigned_integer(exponent));
    PublicKey::Rsa {
        pkcs1_der: tlv(0x30, &contents),
        bits,
    }
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
    let body = bytes.get(header..header.checked_add(length)?)?;
    Some((tag, body, &bytes[header + length..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_minimal_and_unsigned() {
        assert_eq!(unsigned_integer(&[0, 0, 0x7f]), vec![2, 1, 0x7f]);
        assert_eq!(unsigned_integer(&[0x80]), vec![2, 2, 0, 0x80]);
        assert_eq!(unsigned_integer(&[0, 0]), vec![2, 1, 0]);
        assert_eq!(unsigned_integer(&[]), vec![2, 1, 0]);
    }

    #[test]
    fn lengths_take_the_long_form_past_127() {
        assert_eq!(tlv(0x04, &[7; 3]), vec![4, 3, 7, 7, 7]);
        assert_eq!(tlv(0x30, &[0; 200])[..3], [0x30, 0x81, 200]);
        assert_eq!(tlv(0x30, &[0; 300])[..4], [0x30, 0x82, 1, 44]);
    }

    #[test]
    fn elements_read_back_what_was_written() {
        let inner = tlv(0x04, &[1, 2, 3]);
        let outer = [
            tlv(0x30, &[inner.clone(), vec![0x05, 0x00]].concat()),
            vec![9],
        ]
        .concat();
        let (tag, body, rest) = element(&outer).unwrap();
        assert_eq!((tag, rest), (0x30, &[9][..]));
        let (tag, contents, rest) = element(body).unwrap();
        assert_eq!((tag, contents, rest), (0x04, &[1, 2, 3][..], &[5, 0][..]));
        let long = tlv(0x04, &[0; 300]);
        assert_eq!(element(&long).unwrap().1.len(), 300);
        assert!(element(&long[..100]).is_none());
        assert!(element(&[0x30, 0x80]).is_none());
        assert!(element(&[0x30, 0x85, 0, 0, 0, 0, 1]).is_none());
    }

    #[test]
    fn rsa_keys_count_their_bits() {
        let PublicKey::Rsa { pkcs1_der, bits } = rsa_public_key(&[0, 0xC0, 0, 0], &[1, 0, 1])
        else {
            panic!("not RSA")
        };
        assert_eq!(bits, 24);
        assert_eq!(
            pkcs1_der,
            vec![0x30, 0x0b, 2, 4, 0, 0xC0, 0, 0, 2, 3, 1, 0, 1]
        );
        // A TPM's 2048-bit key with the default exponent.
        let PublicKey::Rsa { pkcs1_der, bits } =
            rsa_public_key(&[0xC0; 256], &65537u32.to_be_bytes())
        else {
            panic!("not RSA")
        };
        assert_eq!(bits, 2048);
        assert_eq!(pkcs1_der[..4], [0x30, 0x82, 0x01, 0x0a]);
    }
}
