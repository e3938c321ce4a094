//! Private keys read from a file (or bytes): PKCS#8, PKCS#1 and SEC1, in PEM or DER, including a
//! PEM that also holds certificates.

use zeroize::Zeroizing;

use super::encrypted_pkcs8::{self, looks_like_encrypted_pkcs8};
use super::mldsa::MlDsaKey;
use super::{Curve, Digest, MlDsaLevel, PublicKey, Signer};
use crate::error::{Error, Result};
use crate::identity::secret_prompt::PasswordSource;
use crate::support::input_file;

const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_RSA_PSS: &str = "1.2.840.113549.1.1.10";
const OID_EC: &str = "1.2.840.10045.2.1";

/// A private key held in memory; zeroized on drop by the crypto crates.
pub struct FileKey {
    key: KeyMaterial,
    public: PublicKey,
}

enum KeyMaterial {
    /// RSA signs through ring: constant-time like the `rsa` crate, and four times faster,
    /// which matters for a process that starts, signs once and exits.
    Rsa(Box<ring::signature::RsaKeyPair>),
    /// P-256 with SHA-256 (every SigV4 signature) signs through ring, whose fixed base-point
    /// tables make a one-shot process 20 times faster than building them; other digests
    /// (`sign-string --digest`) use the RustCrypto key made from the same scalar.
    P256 {
        ring: Box<ring::signature::EcdsaKeyPair>,
        scalar: Zeroizing<Vec<u8>>,
    },
    P384(p384::ecdsa::SigningKey),
    P521(p521::ecdsa::SigningKey),
    MlDsa(Box<MlDsaKey>),
}

impl Signer for FileKey {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    /// P-256 through ring: about 40 us. RSA takes most of a millisecond, and P-384, P-521 and
    /// ML-DSA a first signature's table or matrix set-up.
    fn signs_quickly(&self) -> bool {
        matches!(self.key, KeyMaterial::P256 { .. })
    }

    fn sign(&self, message: &[u8], digest: Digest) -> Result<Vec<u8>> {
        use signature::hazmat::PrehashSigner;
        let hashed = || digest.hash(message);
        let failed = |e: &dyn std::fmt::Display| Error::Internal(format!("signing failed: {e}"));
        match &self.key {
            KeyMaterial::Rsa(key) => {
                let padding = match digest {
                    Digest::Sha256 => &ring::signature::RSA_PKCS1_SHA256,
                    Digest::Sha384 => &ring::signature::RSA_PKCS1_SHA384,
                    Digest::Sha512 => &ring::signature::RSA_PKCS1_SHA512,
                };
                let mut signature = vec![0u8; key.public().modulus_len()];
                key.sign(
                    padding,
                    &ring::rand::SystemRandom::new(),
                    message,
                    &mut signature,
                )
                .map_err(|_| Error::Internal("RSA signing failed".into()))?;
                Ok(signature)
            }
            KeyMaterial::P256 { ring, .. } if digest == Digest::Sha256 => ring
                .sign(&ring::rand::SystemRandom::new(), message)
                .map(|sig| sig.as_ref().to_vec())
                .map_err(|_| Error::Internal("ECDSA signing failed".into())),
            KeyMaterial::P256 { scalar, .. } => {
                let key = p256::ecdsa::SigningKey::from_slice(scalar).map_err(|e| failed(&e))?;
                let sig: p256::ecdsa::Signature =
                    key.sign_prehash(&hashed()).map_err(|e| failed(&e))?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            KeyMaterial::P384(key) => {
                let sig: p384::ecdsa::Signature =
                    key.sign_prehash(&hashed()).map_err(|e| failed(&e))?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            KeyMaterial::MlDsa(key) => key.sign(message),
            KeyMaterial::P521(key) => {
                let sig: p521::ecdsa::Signature =
                    key.sign_prehash(&hashed()).map_err(|e| failed(&e))?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
        }
    }
}

/// True when PEM `bytes` hold a private key block (a certificate file that also holds its key).
pub fn holds_private_key(bytes: &[u8]) -> bool {
    input_file::looks_like_pem(bytes)
        && input_file::pem_blocks(bytes, "")
            .is_ok_and(|blocks| blocks.iter().any(|b| b.tag.ends_with("PRIVATE KEY")))
}

/// Parses an unencrypted private key from PEM or DER bytes; `input` names it in errors.
pub fn parse(bytes: &[u8], input: &str) -> Result<FileKey> {
    parse_with_password(bytes, input, PasswordSource::Terminal)
}

/// Parses a private key from PEM or DER bytes, decrypting an encrypted PKCS#8 key with the
/// password from `password`; `input` names it in errors.
pub fn parse_with_password(
    bytes: &[u8],
    input: &str,
    password: PasswordSource<'_>,
) -> Result<FileKey> {
    if input_file::looks_like_pem(bytes) {
        let blocks = input_file::pem_blocks(bytes, input)?;
        let mut found = Vec::new();
        for block in blocks {
            let contents: &[u8] = &block.contents;
            match block.tag.as_str() {
                "PRIVATE KEY" => return from_pkcs8(contents, input),
                "RSA PRIVATE KEY" => return from_pkcs1(contents, input),
                "EC PRIVATE KEY" => return from_sec1(contents, input),
                "ENCRYPTED PRIVATE KEY" => return from_encrypted_pkcs8(contents, input, password),
                "TSS2 PRIVATE KEY" => {
                    return Err(Error::bad_input(
                        input,
                        "this is a TPM key (TSS2 PRIVATE KEY); give its file with --private-key, which loads it through the TPM",
                    ));
                }
                other => found.push(other.to_string()),
            }
        }
        let what = if found.is_empty() {
            "nothing".to_string()
        } else {
            found.join(", ")
        };
        return Err(Error::bad_input(
            input,
            format!(
                "no private key found (found PEM blocks: {what}); give a PKCS#8, PKCS#1 or SEC1 private key"
            ),
        ));
    }
    // DER: the structures are distinct enough that trying each in turn is unambiguous.
    if pkcs8::PrivateKeyInfoRef::try_from(bytes).is_ok() {
        return from_pkcs8(bytes, input);
    }
    if looks_like_encrypted_pkcs8(bytes) {
        return from_encrypted_pkcs8(bytes, input, password);
    }
    if ring::signature::RsaKeyPair::from_der(bytes).is_ok() {
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

/// Decrypts an `ENCRYPTED PRIVATE KEY` and reads the key inside.
fn from_encrypted_pkcs8(der: &[u8], input: &str, password: PasswordSource<'_>) -> Result<FileKey> {
    let document = encrypted_pkcs8::decrypt(der, input, password)?;
    from_pkcs8(document.as_bytes(), input)
}

fn from_pkcs8(der: &[u8], input: &str) -> Result<FileKey> {
    let info = pkcs8::PrivateKeyInfoRef::try_from(der)
        .map_err(|e| Error::bad_input(input, format!("malformed PKCS#8 private key: {e}")))?;
    let algorithm = info.algorithm.oid.to_string();
    match algorithm.as_str() {
        OID_RSA => rsa_key(ring::signature::RsaKeyPair::from_pkcs8(der), input),
        OID_EC => {
            let curve = info
                .algorithm
                .parameters_oid()
                .map_err(|_| Error::bad_input(input, "EC private key without a named curve"))?
                .to_string();
            let curve = named_curve(&curve, input)?;
            let inner = sec1::EcPrivateKey::try_from(info.private_key.as_bytes()).map_err(|e| {
                Error::bad_input(input, format!("malformed EC private key in PKCS#8: {e}"))
            })?;
            ec_key(curve, inner.private_key, inner.public_key, input)
        }
        other => match MlDsaLevel::from_oid(other) {
            Some(level) => {
                let key = MlDsaKey::from_private_key(level, info.private_key.as_bytes(), input)?;
                let public = key.public_key();
                Ok(FileKey {
                    key: KeyMaterial::MlDsa(Box::new(key)),
                    public,
                })
            }
            None => Err(Error::bad_input(
                input,
                format!("unsupported key algorithm {}", algorithm_name(other)),
            )),
        },
    }
}

fn from_pkcs1(der: &[u8], input: &str) -> Result<FileKey> {
    rsa_key(ring::signature::RsaKeyPair::from_der(der), input)
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
            n => {
                return Err(Error::bad_input(
                    input,
                    format!("EC private key of unexpected size {n} bytes and no named curve"),
                ));
            }
        },
    };
    ec_key(curve, parsed.private_key, parsed.public_key, input)
}

fn rsa_key(
    parsed: std::result::Result<ring::signature::RsaKeyPair, ring::error::KeyRejected>,
    input: &str,
) -> Result<FileKey> {
    let key = parsed.map_err(|rejected| {
        let why = match rejected.to_string().as_str() {
            "TooSmall" => {
                "the RSA key is smaller than 2048 bits; Roles Anywhere needs 2048 to 4096"
                    .to_string()
            }
            "TooLarge" => "the RSA key is larger than 4096 bits; use 2048 to 4096".to_string(),
            other => format!("malformed or inconsistent RSA private key ({other})"),
        };
        Error::bad_input(input, why)
    })?;
    let public = key.public();
    let bits = public.modulus_len() * 8;
    let pkcs1_der = public.as_ref().to_vec();
    Ok(FileKey {
        key: KeyMaterial::Rsa(Box::new(key)),
        public: PublicKey::Rsa { pkcs1_der, bits },
    })
}

/// Builds an EC key from its scalar and, when the file has it, its public point.
fn ec_key(
    curve: Curve,
    scalar: &[u8],
    public_point: Option<&[u8]>,
    input: &str,
) -> Result<FileKey> {
    let fail = |e: &dyn std::fmt::Display| {
        Error::bad_input(
            input,
            format!("malformed {} private key: {e}", curve.name()),
        )
    };
    let field_len = match curve {
        Curve::P256 => 32,
        Curve::P384 => 48,
        Curve::P521 => 66,
    };
    if scalar.len() > field_len {
        return Err(fail(&format!("a {}-byte scalar", scalar.len())));
    }
    // Some encoders drop leading zero bytes of the scalar.
    let mut padded = Zeroizing::new(vec![0u8; field_len - scalar.len()]);
    padded.extend_from_slice(scalar);
    let (material, point) = match curve {
        Curve::P256 => {
            let point = match public_point {
                Some(point) => point.to_vec(),
                None => p256::SecretKey::from_slice(&padded)
                    .map_err(|e| fail(&e))?
                    .public_key()
                    .to_sec1_bytes()
                    .into_vec(),
            };
            let ring = ring::signature::EcdsaKeyPair::from_private_key_and_public_key(
                &ring::signature::ECDSA_P256_SHA256_ASN1_SIGNING,
                &padded,
                &point,
                &ring::rand::SystemRandom::new(),
            )
            .map_err(|e| fail(&format!("the key is inconsistent ({e})")))?;
            let point = ring::signature::KeyPair::public_key(&ring)
                .as_ref()
                .to_vec();
            (
                KeyMaterial::P256 {
                    ring: Box::new(ring),
                    scalar: padded,
                },
                point,
            )
        }
        Curve::P384 => {
            let key = p384::ecdsa::SigningKey::from_slice(&padded).map_err(|e| fail(&e))?;
            let point = key.verifying_key().to_sec1_bytes().into_vec();
            (KeyMaterial::P384(key), point)
        }
        Curve::P521 => {
            let key = p521::ecdsa::SigningKey::from_slice(&padded).map_err(|e| fail(&e))?;
            let point = key.verifying_key().to_sec1_bytes().into_vec();
            (KeyMaterial::P521(key), point)
        }
    };
    Ok(FileKey {
        key: material,
        public: PublicKey::Ec { curve, point },
    })
}

/// Maps a named-curve OID to a supported curve, or names the unsupported one.
pub fn named_curve(oid: &str, input: &str) -> Result<Curve> {
    match Curve::ALL.into_iter().find(|curve| curve.oid() == oid) {
        Some(curve) => Ok(curve),
        None => Err(Error::bad_input(
            input,
            format!(
                "unsupported curve {}; Roles Anywhere accepts P-256, P-384 and P-521",
                curve_name(oid)
            ),
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
