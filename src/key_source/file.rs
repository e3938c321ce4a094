//! Private keys read from a file (or bytes): PKCS#8, PKCS#1 and SEC1, in PEM or DER, including a
//! PEM that also holds certificates.

use std::path::Path;

use super::{Curve, Digest, PublicKey, Signer};
use crate::error::{Error, Result};
use crate::input_file;

const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_RSA_PSS: &str = "1.2.840.113549.1.1.10";
const OID_EC: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_P521: &str = "1.3.132.0.35";

/// A private key held in memory; zeroized on drop by the crypto crates.
pub struct FileKey {
    key: KeyMaterial,
    public: PublicKey,
}

enum KeyMaterial {
    Rsa(Box<rsa::PrivateKey>),
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
    P521(p521::ecdsa::SigningKey),
}

impl Signer for FileKey {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn sign(&self, message: &[u8], digest: Digest) -> Result<Vec<u8>> {
        use signature::hazmat::PrehashSigner;
        let hashed = digest.hash(message);
        let failed = |e: &dyn std::fmt::Display| Error::Internal(format!("signing failed: {e}"));
        match &self.key {
            KeyMaterial::Rsa(key) => {
                let scheme = match digest {
                    Digest::Sha256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                    Digest::Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
                    Digest::Sha512 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
                };
                key.sign(scheme, &hashed).map_err(|e| failed(&e))
            }
            KeyMaterial::P256(key) => {
                let sig: p256::ecdsa::Signature = key.sign_prehash(&hashed).map_err(|e| failed(&e))?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            KeyMaterial::P384(key) => {
                let sig: p384::ecdsa::Signature = key.sign_prehash(&hashed).map_err(|e| failed(&e))?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            KeyMaterial::P521(key) => {
                let sig: p521::ecdsa::Signature = key.sign_prehash(&hashed).map_err(|e| failed(&e))?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
        }
    }
}

/// Reads and parses the private key in `path`.
pub fn load(path: &Path) -> Result<FileKey> {
    let bytes = input_file::read_secret(path, "--private-key")?;
    parse(&bytes, &format!("--private-key {}", path.display()))
}

/// Parses a private key from PEM or DER bytes; `input` names it in errors.
pub fn parse(bytes: &[u8], input: &str) -> Result<FileKey> {
    if input_file::looks_like_pem(bytes) {
        let blocks = input_file::pem_blocks(bytes, input)?;
        let mut found = Vec::new();
        for block in blocks {
            let contents: &[u8] = &block.contents;
            match block.tag.as_str() {
                "PRIVATE KEY" => return from_pkcs8(contents, input),
                "RSA PRIVATE KEY" => return from_pkcs1(contents, input),
                "EC PRIVATE KEY" => return from_sec1(contents, input),
                "ENCRYPTED PRIVATE KEY" => {
                    return Err(Error::bad_input(
                        input,
                        "the key is encrypted (ENCRYPTED PRIVATE KEY); decrypt it first, e.g. `openssl pkey -in KEY -out plain.key`",
                    ));
                }
                "TSS2 PRIVATE KEY" => {
                    return Err(Error::bad_input(
                        input,
                        "this is a TPM key (TSS2 PRIVATE KEY); TPM keys are not supported by this build yet",
                    ));
                }
                other => found.push(other.to_string()),
            }
        }
        let what = if found.is_empty() { "nothing".to_string() } else { found.join(", ") };
        return Err(Error::bad_input(
            input,
            format!("no private key found (found PEM blocks: {what}); give a PKCS#8, PKCS#1 or SEC1 private key"),
        ));
    }
    // DER: the structures are distinct enough that trying each in turn is unambiguous.
    if let Ok(info) = pkcs8::PrivateKeyInfoRef::try_from(bytes) {
        let _ = info;
        return from_pkcs8(bytes, input);
    }
    if rsa_from_pkcs1(bytes).is_ok() {
        return from_pkcs1(bytes, input);
    }
    if sec1::EcPrivateKey::try_from(bytes).is_ok() {
        return from_sec1(bytes, input);
    }
    Err(Error::bad_input(
        input,
        "not a private key: neither PEM nor a DER PKCS#8, PKCS#1 or SEC1 key",
    ))
}

fn rsa_from_pkcs1(der: &[u8]) -> std::result::Result<rsa::PrivateKey, rsa::pkcs1::Error> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    rsa::PrivateKey::from_pkcs1_der(der)
}

fn from_pkcs8(der: &[u8], input: &str) -> Result<FileKey> {
    let info = pkcs8::PrivateKeyInfoRef::try_from(der)
        .map_err(|e| Error::bad_input(input, format!("malformed PKCS#8 private key: {e}")))?;
    let algorithm = info.algorithm.oid.to_string();
    match algorithm.as_str() {
        OID_RSA => {
            let key = rsa::PrivateKey::try_from(info)
                .map_err(|e| Error::bad_input(input, format!("malformed RSA private key: {e}")))?;
            rsa_key(key, input)
        }
        OID_EC => {
            let curve = info
                .algorithm
                .parameters_oid()
                .map_err(|_| Error::bad_input(input, "EC private key without a named curve"))?
                .to_string();
            let curve = named_curve(&curve, input)?;
            let fail = |e: &dyn std::fmt::Display| {
                Error::bad_input(input, format!("malformed {} private key: {e}", curve.name()))
            };
            use pkcs8::DecodePrivateKey;
            let material = match curve {
                Curve::P256 => KeyMaterial::P256(p256::SecretKey::from_pkcs8_der(der).map_err(|e| fail(&e))?.into()),
                Curve::P384 => KeyMaterial::P384(p384::SecretKey::from_pkcs8_der(der).map_err(|e| fail(&e))?.into()),
                Curve::P521 => KeyMaterial::P521(p521::SecretKey::from_pkcs8_der(der).map_err(|e| fail(&e))?.into()),
            };
            Ok(ec_key(material))
        }
        other => Err(Error::bad_input(input, format!("unsupported key algorithm {}", algorithm_name(other)))),
    }
}

fn from_pkcs1(der: &[u8], input: &str) -> Result<FileKey> {
    let key = rsa_from_pkcs1(der)
        .map_err(|e| Error::bad_input(input, format!("malformed PKCS#1 RSA private key: {e}")))?;
    rsa_key(key, input)
}

fn from_sec1(der: &[u8], input: &str) -> Result<FileKey> {
    let parsed = sec1::EcPrivateKey::try_from(der)
        .map_err(|e| Error::bad_input(input, format!("malformed SEC1 EC private key: {e}")))?;
    let curve = match parsed.parameters.as_ref().and_then(|p| p.named_curve()) {
        Some(oid) => named_curve(&oid.to_string(), input)?,
        // Without parameters, the scalar's length tells the curve.
        None => match parsed.private_key.len() {
            32 => Curve::P256,
            48 => Curve::P384,
            65 | 66 => Curve::P521,
            n => return Err(Error::bad_input(input, format!("EC private key of unexpected size {n} bytes and no named curve"))),
        },
    };
    let fail = |e: &dyn std::fmt::Display| Error::bad_input(input, format!("malformed {} private key: {e}", curve.name()));
    let scalar = parsed.private_key;
    let material = match curve {
        Curve::P256 => KeyMaterial::P256(p256::SecretKey::from_slice(scalar).map_err(|e| fail(&e))?.into()),
        Curve::P384 => KeyMaterial::P384(p384::SecretKey::from_slice(scalar).map_err(|e| fail(&e))?.into()),
        Curve::P521 => KeyMaterial::P521(p521::SecretKey::from_slice(scalar).map_err(|e| fail(&e))?.into()),
    };
    Ok(ec_key(material))
}

fn rsa_key(key: rsa::PrivateKey, input: &str) -> Result<FileKey> {
    use rsa::pkcs1::EncodeRsaPublicKey;
    use rsa::traits::PublicKeyParts;
    let bits = key.n().bit_width() as usize;
    if bits < 2048 {
        return Err(Error::bad_input(input, format!("RSA key of {bits} bits is too small; Roles Anywhere needs at least 2048")));
    }
    let pkcs1_der = key
        .to_public_key()
        .to_pkcs1_der()
        .map_err(|e| Error::Internal(format!("encoding RSA public key: {e}")))?
        .as_bytes()
        .to_vec();
    Ok(FileKey { key: KeyMaterial::Rsa(Box::new(key)), public: PublicKey::Rsa { pkcs1_der, bits } })
}

fn ec_key(material: KeyMaterial) -> FileKey {
    let public = match &material {
        KeyMaterial::P256(k) => PublicKey::Ec { curve: Curve::P256, point: k.verifying_key().to_sec1_bytes().into_vec() },
        KeyMaterial::P384(k) => PublicKey::Ec { curve: Curve::P384, point: k.verifying_key().to_sec1_bytes().into_vec() },
        KeyMaterial::P521(k) => PublicKey::Ec { curve: Curve::P521, point: k.verifying_key().to_sec1_bytes().into_vec() },
        KeyMaterial::Rsa(_) => unreachable!("ec_key is only called with EC material"),
    };
    FileKey { key: material, public }
}

/// Maps a named-curve OID to a supported curve, or names the unsupported one.
pub fn named_curve(oid: &str, input: &str) -> Result<Curve> {
    match oid {
        OID_P256 => Ok(Curve::P256),
        OID_P384 => Ok(Curve::P384),
        OID_P521 => Ok(Curve::P521),
        other => Err(Error::bad_input(
            input,
            format!("unsupported curve {}; Roles Anywhere accepts P-256, P-384 and P-521", curve_name(other)),
        )),
    }
}

/// A readable name for a curve OID.
pub fn curve_name(oid: &str) -> String {
    match oid {
        "1.3.132.0.10" => "secp256k1".into(),
        "1.2.840.10045.3.1.1" => "P-192".into(),
        "1.3.132.0.33" => "P-224".into(),
        "1.3.36.3.3.2.8.1.1.7" => "brainpoolP256r1".into(),
        other => format!("with OID {other}"),
    }
}

/// A readable name for a key algorithm OID.
pub fn algorithm_name(oid: &str) -> String {
    match oid {
        OID_RSA_PSS => "RSASSA-PSS (use a plain rsaEncryption RSA key)".into(),
        "1.3.101.112" => "Ed25519".into(),
        "1.3.101.113" => "Ed448".into(),
        "1.3.101.110" => "X25519".into(),
        "1.2.840.10040.4.1" => "DSA".into(),
        "2.16.840.1.101.3.4.3.17" => "ML-DSA-44".into(),
        "2.16.840.1.101.3.4.3.18" => "ML-DSA-65".into(),
        "2.16.840.1.101.3.4.3.19" => "ML-DSA-87".into(),
        other => format!("with OID {other}"),
    }
}
