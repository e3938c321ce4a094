//! TPM 2.0 marshalling: the bytes of the few commands we send, the fields of their responses,
//! the public area (TPMT_PUBLIC) of a key, and the DER our signatures and RSA keys need.

use zeroize::Zeroizing;

pub(crate) const ST_NO_SESSIONS: u16 = 0x8001;
pub(crate) const ST_SESSIONS: u16 = 0x8002;
/// The password authorization "session": the password travels in the clear, as the hmac field.
pub(crate) const RS_PW: u32 = 0x4000_0009;
pub(crate) const RH_OWNER: u32 = 0x4000_0001;
pub(crate) const RH_NULL: u32 = 0x4000_0007;
pub(crate) const ST_HASHCHECK: u16 = 0x8024;

pub(crate) const CC_CREATE_PRIMARY: u32 = 0x131;
pub(crate) const CC_CREATE: u32 = 0x153;
pub(crate) const CC_STARTUP: u32 = 0x144;
pub(crate) const CC_LOAD: u32 = 0x157;
pub(crate) const CC_SIGN: u32 = 0x15D;
pub(crate) const CC_FLUSH_CONTEXT: u32 = 0x165;
pub(crate) const CC_READ_PUBLIC: u32 = 0x173;

pub(crate) const ALG_RSA: u16 = 0x0001;
pub(crate) const ALG_SHA256: u16 = 0x000B;
pub(crate) const ALG_SHA384: u16 = 0x000C;
pub(crate) const ALG_SHA512: u16 = 0x000D;
pub(crate) const ALG_NULL: u16 = 0x0010;
pub(crate) const ALG_RSASSA: u16 = 0x0014;
pub(crate) const ALG_ECDSA: u16 = 0x0018;
pub(crate) const ALG_ECDAA: u16 = 0x001A;
pub(crate) const ALG_ECC: u16 = 0x0023;

pub(crate) const ECC_NIST_P256: u16 = 0x0003;
pub(crate) const ECC_NIST_P384: u16 = 0x0004;
pub(crate) const ECC_NIST_P521: u16 = 0x0005;

pub(crate) const ATTR_FIXED_TPM: u32 = 1 << 1;
pub(crate) const ATTR_FIXED_PARENT: u32 = 1 << 4;
pub(crate) const ATTR_SENSITIVE_DATA_ORIGIN: u32 = 1 << 5;
pub(crate) const ATTR_USER_WITH_AUTH: u32 = 1 << 6;
pub(crate) const ATTR_NO_DA: u32 = 1 << 10;
pub(crate) const ATTR_RESTRICTED: u32 = 1 << 16;
pub(crate) const ATTR_DECRYPT: u32 = 1 << 17;
pub(crate) const ATTR_SIGN: u32 = 1 << 18;

/// The TPMT_PUBLIC of the standard ECC P-256 storage key (SRK) that tpm2-openssl, tpm2-tools
/// and AWS's helper create under the owner hierarchy for key files whose parent is 0x40000001:
/// ECC, SHA-256, fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|noDA|restricted|decrypt,
/// AES-128-CFB, NULL scheme, NIST P-256, NULL kdf, empty unique.
pub(crate) const OWNER_SRK_TEMPLATE: [u8; 26] = [
    0x00, 0x23, 0x00, 0x0b, 0x00, 0x03, 0x04, 0x72, 0x00, 0x00, 0x00, 0x06, 0x00, 0x80, 0x00, 0x43,
    0x00, 0x10, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00,
];

/// Builds a command: header, handles, an optional password authorization for the first handle,
/// then the parameters. Zeroized on drop, since it may carry a password.
pub(crate) fn command(
    code: u32,
    handles: &[u32],
    password: Option<&[u8]>,
    parameters: &[u8],
) -> Zeroizing<Vec<u8>> {
    let mut bytes = Zeroizing::new(Vec::with_capacity(64 + parameters.len()));
    let tag = if password.is_some() {
        ST_SESSIONS
    } else {
        ST_NO_SESSIONS
    };
    bytes.extend_from_slice(&tag.to_be_bytes());
    bytes.extend_from_slice(&[0, 0, 0, 0]); // size, filled in below
    bytes.extend_from_slice(&code.to_be_bytes());
    for handle in handles {
        bytes.extend_from_slice(&handle.to_be_bytes());
    }
    if let Some(password) = password {
        // One password session: handle, empty nonce, attributes 0, the password as hmac.
        let session_len = 4 + 2 + 1 + 2 + password.len();
        bytes.extend_from_slice(&(session_len as u32).to_be_bytes());
        bytes.extend_from_slice(&RS_PW.to_be_bytes());
        bytes.extend_from_slice(&[0, 0]);
        bytes.push(0);
        bytes.extend_from_slice(&(password.len() as u16).to_be_bytes());
        bytes.extend_from_slice(password);
    }
    bytes.extend_from_slice(parameters);
    let size = bytes.len() as u32;
    bytes[2..6].copy_from_slice(&size.to_be_bytes());
    bytes
}

/// A TPM2B: two length bytes, then the bytes.
pub(crate) fn tpm2b(out: &mut Vec<u8>, contents: &[u8]) {
    out.extend_from_slice(&(contents.len() as u16).to_be_bytes());
    out.extend_from_slice(contents);
}

/// The response header's size field, for transports that read the header first.
pub(crate) fn response_size(header: &[u8; 10]) -> usize {
    u32::from_be_bytes([header[2], header[3], header[4], header[5]]) as usize
}

/// A cursor over response bytes; running off the end is a malformed response, never a panic.
pub(crate) struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

/// A response or structure too short or inconsistent to parse.
#[derive(Debug)]
pub(crate) struct Malformed(pub(crate) String);

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader { bytes, at: 0 }
    }

    pub(crate) fn take(&mut self, len: usize, what: &str) -> Result<&'a [u8], Malformed> {
        let end = self
            .at
            .checked_add(len)
            .filter(|end| *end <= self.bytes.len());
        let Some(end) = end else {
            return Err(Malformed(format!("truncated at {what}")));
        };
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    pub(crate) fn u16(&mut self, what: &str) -> Result<u16, Malformed> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub(crate) fn u32(&mut self, what: &str) -> Result<u32, Malformed> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn tpm2b(&mut self, what: &str) -> Result<&'a [u8], Malformed> {
        let len = self.u16(what)? as usize;
        self.take(len, what)
    }

    pub(crate) fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }
}

/// A parsed response: its code and, on success, what follows the header.
pub(crate) struct Response {
    pub(crate) code: u32,
    pub(crate) body: Vec<u8>,
}

/// Splits a raw response into code and body, checking the size field.
pub(crate) fn parse_response(raw: &[u8]) -> Result<Response, Malformed> {
    let mut reader = Reader::new(raw);
    let _tag = reader.u16("response tag")?;
    let size = reader.u32("response size")? as usize;
    let code = reader.u32("response code")?;
    if size != raw.len() {
        return Err(Malformed(format!(
            "response size field {size} but {} bytes received",
            raw.len()
        )));
    }
    Ok(Response {
        code,
        body: raw[10..].to_vec(),
    })
}

/// The key-specific part of a public area.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyParameters {
    Ecc { curve: u16, x: Vec<u8>, y: Vec<u8> },
    Rsa { exponent: u32, modulus: Vec<u8> },
}

/// What we need of a TPMT_PUBLIC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PublicArea {
    pub(crate) attributes: u32,
    /// The signing scheme the key is fixed to (`ALG_NULL` when the caller chooses) and its hash.
    pub(crate) scheme: u16,
    pub(crate) scheme_hash: u16,
    pub(crate) key: KeyParameters,
}

/// Parses a TPMT_PUBLIC (without the TPM2B length).
pub(crate) fn parse_public(bytes: &[u8]) -> Result<PublicArea, Malformed> {
    let mut r = Reader::new(bytes);
    let object_type = r.u16("type")?;
    let _name_alg = r.u16("nameAlg")?;
    let attributes = r.u32("objectAttributes")?;
    let _auth_policy = r.tpm2b("authPolicy")?;
    match object_type {
        ALG_ECC | ALG_RSA => {}
        other => {
            return Err(Malformed(format!(
                "object type 0x{other:04x} is not an RSA or ECC key"
            )));
        }
    }
    // TPMT_SYM_DEF_OBJECT: algorithm, then key bits and mode unless NULL.
    let symmetric = r.u16("symmetric")?;
    if symmetric != ALG_NULL {
        r.take(4, "symmetric details")?;
    }
    let scheme = r.u16("scheme")?;
    let mut scheme_hash = ALG_NULL;
    if scheme != ALG_NULL {
        scheme_hash = r.u16("scheme hash")?;
        if scheme == ALG_ECDAA {
            r.u16("ECDAA count")?;
        }
    }
    let key = if object_type == ALG_ECC {
        let curve = r.u16("curveID")?;
        let kdf = r.u16("kdf")?;
        if kdf != ALG_NULL {
            r.u16("kdf hash")?;
        }
        let x = r.tpm2b("unique.x")?.to_vec();
        let y = r.tpm2b("unique.y")?.to_vec();
        KeyParameters::Ecc { curve, x, y }
    } else {
        let _bits = r.u16("keyBits")?;
        let exponent = r.u32("exponent")?;
        let modulus = r.tpm2b("unique.rsa")?.to_vec();
        KeyParameters::Rsa { exponent, modulus }
    };
    if r.remaining() != 0 {
        return Err(Malformed(format!(
            "{} unexpected bytes after the public area",
            r.remaining()
        )));
    }
    Ok(PublicArea {
        attributes,
        scheme,
        scheme_hash,
        key,
    })
}

/// Parses a TPM2B_PUBLIC (length-prefixed TPMT_PUBLIC), checking the length.
pub(crate) fn parse_public_2b(bytes: &[u8]) -> Result<PublicArea, Malformed> {
    let mut r = Reader::new(bytes);
    let inner = r.tpm2b("TPM2B_PUBLIC")?;
    if r.remaining() != 0 {
        return Err(Malformed("bytes after the TPM2B_PUBLIC".into()));
    }
    parse_public(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_srk_template_is_the_one_the_tools_use() {
        assert_eq!(
            hex::encode(OWNER_SRK_TEMPLATE),
            // The lab notes' bytes: 0023 000b 00030472 0000 0006 0080 0043 0010 0003 0010 0000 0000
            "0023000b00030472000000060080004300100003001000000000"
        );
        let area = parse_public(&OWNER_SRK_TEMPLATE).expect("template parses");
        assert_eq!(area.attributes, 0x0003_0472);
        assert!(matches!(
            area.key,
            KeyParameters::Ecc {
                curve: ECC_NIST_P256,
                ..
            }
        ));
    }

    #[test]
    fn commands_carry_the_size_and_the_password_session() {
        let bytes = command(CC_SIGN, &[0x8000_0000], Some(b"pw"), &[0xAA]);
        assert_eq!(
            hex::encode(&bytes[..]),
            "80020000001e0000015d80000000 0000000b 40000009 0000 00 0002 7077 aa".replace(' ', "")
        );
        let bytes = command(CC_FLUSH_CONTEXT, &[], None, &0x8000_0001u32.to_be_bytes());
        assert_eq!(hex::encode(&bytes[..]), "80010000000e0000016580000001");
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        assert!(parse_public(&[0x00, 0x23, 0x00]).is_err());
        assert!(parse_response(&[0x80, 0x01, 0, 0, 0, 20, 0, 0, 0, 0]).is_err());
    }
}
