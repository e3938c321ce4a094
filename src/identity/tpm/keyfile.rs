//! `TSS2 PRIVATE KEY` files (the tpm2-openssl / tpm2-tools / OpenConnect format): a lenient
//! BER reader, since tpm2-openssl writes emptyAuth TRUE as `01 01 01` where DER wants `ff`.
//!
//! ```text
//! TPMKey ::= SEQUENCE {
//!     type        OBJECT IDENTIFIER,                  -- 2.23.133.10.1.3 loadable key
//!     emptyAuth   [0] EXPLICIT BOOLEAN OPTIONAL,
//!     policy      [1] EXPLICIT SEQUENCE OF TPMPolicy OPTIONAL,
//!     secret      [2] EXPLICIT OCTET STRING OPTIONAL, -- importable keys only
//!     authPolicy  [3] EXPLICIT SEQUENCE OF TPMAuthPolicy OPTIONAL,
//!     description [4] EXPLICIT UTF8String OPTIONAL,
//!     parent      INTEGER,
//!     pubkey      OCTET STRING,                       -- TPM2B_PUBLIC
//!     privkey     OCTET STRING }                      -- TPM2B_PRIVATE
//! ```

use zeroize::Zeroizing;

/// The DER body of OID 2.23.133.10.1.3 (loadable key).
const OID_LOADABLE_KEY: [u8; 6] = [0x67, 0x81, 0x05, 0x0a, 0x01, 0x03];
/// 2.23.133.10.1.4 (importable key: a secret wrapped for the TPM, not yet a TPM object).
const OID_IMPORTABLE_KEY: [u8; 6] = [0x67, 0x81, 0x05, 0x0a, 0x01, 0x04];
/// 2.23.133.10.1.5 (sealed data, not a key).
const OID_SEALED_DATA: [u8; 6] = [0x67, 0x81, 0x05, 0x0a, 0x01, 0x05];

/// A loadable TPM key from a key file.
pub(crate) struct TpmKeyFile {
    /// Whether the file says the key has no password (absent means FALSE).
    pub(crate) empty_auth: bool,
    /// 0x40000001 (owner hierarchy) or a persistent handle 0x81…
    pub(crate) parent: u32,
    /// TPM2B_PUBLIC, passed to TPM2_Load unchanged.
    pub(crate) public: Vec<u8>,
    /// TPM2B_PRIVATE, passed to TPM2_Load unchanged (encrypted by the TPM, but still kept tidy).
    pub(crate) private: Zeroizing<Vec<u8>>,
}

/// True when DER bytes start like a TPM key structure (for files given as DER, not PEM).
pub(crate) fn looks_like_der_tpm_key(der: &[u8]) -> bool {
    let mut reader = Ber::new(der);
    let Ok((0x30, body)) = reader.next() else {
        return false;
    };
    let mut inner = Ber::new(body);
    matches!(inner.next(), Ok((0x06, oid)) if oid.len() == 6 && oid[..5] == OID_LOADABLE_KEY[..5])
}

/// Parses the DER (BER-tolerant) body of a `TSS2 PRIVATE KEY` block; the error says what is wrong.
pub(crate) fn parse(der: &[u8]) -> Result<TpmKeyFile, String> {
    let mut outer = Ber::new(der);
    let body = match outer.next()? {
        (0x30, body) => body,
        _ => return Err("not a TPM key structure (expected a SEQUENCE)".into()),
    };
    let mut fields = Ber::new(body);
    let oid = match fields.next()? {
        (0x06, oid) => oid,
        _ => return Err("the key type OID is missing".into()),
    };
    if oid == OID_IMPORTABLE_KEY {
        return Err("this is an importable TPM key (OID 2.23.133.10.1.4), which is not supported; create a loadable key on this TPM instead (e.g. `openssl genpkey -provider tpm2 …`)".into());
    }
    if oid == OID_SEALED_DATA {
        return Err("this file holds sealed data (OID 2.23.133.10.1.5), not a key".into());
    }
    if oid != OID_LOADABLE_KEY {
        return Err("unknown TPM key type OID; expected 2.23.133.10.1.3 (loadable key)".into());
    }
    let mut empty_auth = false;
    let (mut tag, mut value) = fields.next()?;
    // The optional context-specific fields come in tag order, before the parent INTEGER.
    while tag & 0xE0 == 0xA0 {
        match tag & 0x1F {
            0 => {
                let mut inner = Ber::new(value);
                match inner.next()? {
                    // BER: any non-zero byte is TRUE (tpm2-openssl writes 0x01).
                    (0x01, [flag]) => empty_auth = *flag != 0,
                    _ => return Err("emptyAuth is not a BOOLEAN".into()),
                }
            }
            1 | 3 => {
                let mut inner = Ber::new(value);
                let has_entries = match inner.next()? {
                    (0x30, entries) => !entries.is_empty(),
                    _ => true,
                };
                if has_entries {
                    return Err("the key needs a TPM policy to be used, which is not supported; use a key without a policy".into());
                }
            }
            2 => {
                return Err("the key carries an importable secret, which is not supported; use a loadable key created on this TPM".into());
            }
            _ => {} // description and later additions change nothing for us
        }
        (tag, value) = fields.next()?;
    }
    let parent = match (tag, value) {
        (0x02, bytes) => unsigned_u32(bytes).ok_or("the parent handle is not a 32-bit number")?,
        _ => return Err("the parent handle INTEGER is missing".into()),
    };
    let public = match fields.next()? {
        (0x04, bytes) => bytes.to_vec(),
        _ => return Err("the public part (OCTET STRING) is missing".into()),
    };
    let private = match fields.next()? {
        (0x04, bytes) => Zeroizing::new(bytes.to_vec()),
        _ => return Err("the private part (OCTET STRING) is missing".into()),
    };
    check_tpm2b(&public, "public")?;
    check_tpm2b(&private, "private")?;
    Ok(TpmKeyFile {
        empty_auth,
        parent,
        public,
        private,
    })
}

/// The blobs carry their own TPM2B length; a mismatch means a damaged file.
fn check_tpm2b(bytes: &[u8], what: &str) -> Result<(), String> {
    match bytes {
        [hi, lo, rest @ ..] if usize::from(u16::from_be_bytes([*hi, *lo])) == rest.len() => Ok(()),
        _ => Err(format!(
            "the {what} part is damaged (its TPM2B length does not match)"
        )),
    }
}

/// A non-negative INTEGER that fits 32 bits; DER adds a leading 0x00 to 0x81000001.
fn unsigned_u32(bytes: &[u8]) -> Option<u32> {
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    let digits = &bytes[skip..];
    if digits.len() > 4 || (skip == 0 && digits.first().is_some_and(|b| b & 0x80 != 0)) {
        return None;
    }
    Some(digits.iter().fold(0u32, |n, b| (n << 8) | u32::from(*b)))
}

/// The DER `TPMKey` of a loadable key under `parent`, as tpm2-openssl writes it: emptyAuth TRUE
/// when the key has no password, then the TPM2B_PUBLIC and TPM2B_PRIVATE (each with its two
/// length bytes) that TPM2_Create returned.
pub(crate) fn encode(
    parent: u32,
    empty_auth: bool,
    public: &[u8],
    private: &[u8],
) -> Zeroizing<Vec<u8>> {
    use crate::identity::der::{tlv, unsigned_integer};
    let mut body = Zeroizing::new(tlv(0x06, &OID_LOADABLE_KEY));
    if empty_auth {
        body.extend_from_slice(&tlv(0xa0, &tlv(0x01, &[0xff])));
    }
    body.extend_from_slice(&unsigned_integer(&parent.to_be_bytes()));
    body.extend_from_slice(&tlv(0x04, public));
    body.extend_from_slice(&tlv(0x04, private));
    Zeroizing::new(tlv(0x30, &body))
}

/// A minimal BER reader: single-byte tags, definite lengths.
struct Ber<'a> {
    bytes: &'a [u8],
}

impl<'a> Ber<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Ber { bytes }
    }

    fn next(&mut self) -> Result<(u8, &'a [u8]), String> {
        let (tag, value, remaining) = crate::identity::der::element(self.bytes)
            .ok_or_else(|| "truncated or malformed ASN.1".to_string())?;
        self.bytes = remaining;
        Ok((tag, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlv(tag: u8, contents: &[u8]) -> Vec<u8> {
        crate::identity::der::tlv(tag, contents)
    }

    fn key_der(optional: &[u8], parent: &[u8]) -> Vec<u8> {
        let mut body = tlv(0x06, &OID_LOADABLE_KEY);
        body.extend_from_slice(optional);
        body.extend_from_slice(&tlv(0x02, parent));
        body.extend_from_slice(&tlv(0x04, &[0, 2, 0xAA, 0xBB]));
        body.extend_from_slice(&tlv(0x04, &[0, 1, 0xCC]));
        tlv(0x30, &body)
    }

    #[test]
    fn reads_tpm2_openssl_ber_boolean_and_persistent_parent() {
        let der = key_der(&[0xa0, 0x03, 0x01, 0x01, 0x01], &[0x00, 0x81, 0, 0, 1]);
        assert!(looks_like_der_tpm_key(&der));
        let key = parse(&der).expect("parses");
        assert!(key.empty_auth);
        assert_eq!(key.parent, 0x8100_0001);
        assert_eq!(key.public, vec![0, 2, 0xAA, 0xBB]);
    }

    #[test]
    fn absent_or_false_empty_auth_means_maybe_a_password() {
        let key = parse(&key_der(&[], &[0x40, 0, 0, 1])).expect("parses");
        assert!(!key.empty_auth);
        assert_eq!(key.parent, 0x4000_0001);
        let key = parse(&key_der(&[0xa0, 0x03, 0x01, 0x01, 0x00], &[0x40, 0, 0, 1])).unwrap();
        assert!(!key.empty_auth);
    }

    #[test]
    fn refuses_policies_secrets_and_importable_keys() {
        let policy = tlv(0xa1, &tlv(0x30, &tlv(0x30, &[0x02, 0x01, 0x01])));
        let error = parse(&key_der(&policy, &[0x40, 0, 0, 1])).err().unwrap();
        assert!(error.contains("policy"), "{error}");
        let empty_policy = tlv(0xa1, &tlv(0x30, &[]));
        assert!(parse(&key_der(&empty_policy, &[0x40, 0, 0, 1])).is_ok());
        let secret = tlv(0xa2, &tlv(0x04, &[1, 2, 3]));
        assert!(parse(&key_der(&secret, &[0x40, 0, 0, 1])).is_err());
        let mut importable = key_der(&[], &[0x40, 0, 0, 1]);
        importable[4 + 5] = 0x04; // the OID's last arc
        let error = parse(&importable).err().unwrap();
        assert!(error.contains("importable"), "{error}");
    }

    #[test]
    fn damaged_files_are_errors() {
        let der = key_der(&[], &[0x40, 0, 0, 1]);
        for cut in 0..der.len() {
            let _ = parse(&der[..cut]); // must not panic
        }
        assert!(parse(&der[..der.len() - 1]).is_err());
    }
}
