//! The leaf's public key and the signatures checked with keys: the request signature over the
//! string to sign, and each certificate's signature by its issuer.
//!
//! Signatures are checked here with `ring` (and RustCrypto's verifying code where ring lacks a
//! curve), never with the signing code the client uses; this crate cannot even reach it.

use x509_parser::prelude::X509Certificate;
use x509_parser::public_key::PublicKey as ParsedKey;

use crate::profile::{OID_ECDSA_SHA256, OID_ECDSA_SHA384, OID_ECDSA_SHA512, weak_algorithm_name};

const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_EC: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_P521: &str = "1.3.132.0.35";

/// The ML-DSA (FIPS 204) parameter sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MlDsaLevel {
    /// ML-DSA-44.
    L44,
    /// ML-DSA-65.
    L65,
    /// ML-DSA-87.
    L87,
}

impl MlDsaLevel {
    /// `ML-DSA-44`, `ML-DSA-65` or `ML-DSA-87`.
    pub fn name(self) -> &'static str {
        match self {
            MlDsaLevel::L44 => "ML-DSA-44",
            MlDsaLevel::L65 => "ML-DSA-65",
            MlDsaLevel::L87 => "ML-DSA-87",
        }
    }

    /// The level of a key algorithm OID (2.16.840.1.101.3.4.3.17/18/19), if it is ML-DSA.
    pub fn from_oid(oid: &str) -> Option<MlDsaLevel> {
        match oid {
            "2.16.840.1.101.3.4.3.17" => Some(MlDsaLevel::L44),
            "2.16.840.1.101.3.4.3.18" => Some(MlDsaLevel::L65),
            "2.16.840.1.101.3.4.3.19" => Some(MlDsaLevel::L87),
            _ => None,
        }
    }

    /// The size of the encoded public key.
    pub fn public_key_len(self) -> usize {
        match self {
            MlDsaLevel::L44 => 1312,
            MlDsaLevel::L65 => 1952,
            MlDsaLevel::L87 => 2592,
        }
    }
}

/// The elliptic curves a leaf key may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcCurve {
    /// NIST P-256 (secp256r1).
    P256,
    /// NIST P-384 (secp384r1).
    P384,
    /// NIST P-521 (secp521r1).
    P521,
}

/// The leaf's public key, as the request signature is verified against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeafKey {
    /// An RSA key.
    Rsa {
        /// PKCS#1 `RSAPublicKey` DER.
        pkcs1_der: Vec<u8>,
        /// The modulus size.
        bits: usize,
    },
    /// An EC key.
    Ec {
        /// Its named curve.
        curve: EcCurve,
        /// The SEC1 point as the certificate holds it.
        point: Vec<u8>,
    },
    /// An ML-DSA key.
    MlDsa {
        /// Its parameter set.
        level: MlDsaLevel,
        /// The FIPS 204 encoded public key.
        encoded: Vec<u8>,
    },
}

impl LeafKey {
    /// The one SigV4-X509 algorithm this key type signs with.
    pub fn algorithm(&self) -> &'static str {
        match self {
            LeafKey::Rsa { .. } => "AWS4-X509-RSA-SHA256",
            LeafKey::Ec { .. } => "AWS4-X509-ECDSA-SHA256",
            LeafKey::MlDsa { .. } => "AWS4-X509-MLDSA",
        }
    }

    /// `RSA 2048`, `EC P-256` or `ML-DSA-65`, for records and messages.
    pub fn describe(&self) -> String {
        match self {
            LeafKey::Rsa { bits, .. } => format!("RSA {bits}"),
            LeafKey::Ec {
                curve: EcCurve::P256,
                ..
            } => "EC P-256".into(),
            LeafKey::Ec {
                curve: EcCurve::P384,
                ..
            } => "EC P-384".into(),
            LeafKey::Ec {
                curve: EcCurve::P521,
                ..
            } => "EC P-521".into(),
            LeafKey::MlDsa { level, .. } => level.name().into(),
        }
    }
}

/// Verifies `child`'s signature with `issuer`'s key: x509-parser's ring-backed check, and
/// RustCrypto's ECDSA verifiers for what ring lacks (P-521 keys, ECDSA with SHA-512).
pub(crate) fn verify_issued_by(
    child: &X509Certificate<'_>,
    issuer: &X509Certificate<'_>,
) -> Result<(), String> {
    match child.verify_signature(Some(issuer.public_key())) {
        Ok(()) => Ok(()),
        Err(x509_parser::error::X509Error::SignatureUnsupportedAlgorithm) => {
            verify_ecdsa_fallback(child, issuer)
        }
        Err(_) => Err(format!(
            "signature on '{}' does not verify with this issuer's key",
            child.subject()
        )),
    }
}

fn verify_ecdsa_fallback(
    child: &X509Certificate<'_>,
    issuer: &X509Certificate<'_>,
) -> Result<(), String> {
    use signature::hazmat::PrehashVerifier;
    let unsupported = || {
        format!(
            "signature algorithm {} with the issuer's key is not supported",
            weak_algorithm_name(&child.signature_algorithm.algorithm.to_id_string())
        )
    };
    let digest_alg = match child.signature_algorithm.algorithm.to_id_string().as_str() {
        OID_ECDSA_SHA256 => &ring::digest::SHA256,
        OID_ECDSA_SHA384 => &ring::digest::SHA384,
        OID_ECDSA_SHA512 => &ring::digest::SHA512,
        _ => return Err(unsupported()),
    };
    let LeafKey::Ec { curve, point } = leaf_key(issuer).map_err(|_| unsupported())? else {
        return Err(unsupported());
    };
    let digest = ring::digest::digest(digest_alg, child.tbs_certificate.as_ref());
    let signature: &[u8] = &child.signature_value.data;
    let bad = || {
        format!(
            "signature on '{}' does not verify with this issuer's key",
            child.subject()
        )
    };
    match curve {
        EcCurve::P256 => {
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).map_err(|_| bad())?;
            let sig = p256::ecdsa::Signature::from_der(signature).map_err(|_| bad())?;
            key.verify_prehash(digest.as_ref(), &sig).map_err(|_| bad())
        }
        EcCurve::P384 => {
            let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(&point).map_err(|_| bad())?;
            let sig = p384::ecdsa::Signature::from_der(signature).map_err(|_| bad())?;
            key.verify_prehash(digest.as_ref(), &sig).map_err(|_| bad())
        }
        EcCurve::P521 => {
            let key = p521::ecdsa::VerifyingKey::from_sec1_bytes(&point).map_err(|_| bad())?;
            let sig = p521::ecdsa::Signature::from_der(signature).map_err(|_| bad())?;
            key.verify_prehash(digest.as_ref(), &sig).map_err(|_| bad())
        }
    }
}

/// The leaf's key, if it is one Roles Anywhere signs with (RSA, EC on P-256/P-384/P-521, or
/// ML-DSA).
pub(crate) fn leaf_key(cert: &X509Certificate<'_>) -> Result<LeafKey, String> {
    let spki = cert.public_key();
    let bytes: &[u8] = &spki.subject_public_key.data;
    match spki.algorithm.algorithm.to_id_string().as_str() {
        OID_RSA => {
            let bits = match spki.parsed() {
                Ok(ParsedKey::RSA(rsa)) => rsa.key_size(),
                _ => return Err("malformed RSA public key".into()),
            };
            Ok(LeafKey::Rsa {
                pkcs1_der: bytes.to_vec(),
                bits,
            })
        }
        OID_EC => {
            let curve_oid = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string())
                .ok_or("EC public key without a named curve")?;
            let curve = match curve_oid.as_str() {
                OID_P256 => EcCurve::P256,
                OID_P384 => EcCurve::P384,
                OID_P521 => EcCurve::P521,
                other => return Err(format!("unsupported elliptic curve {other}")),
            };
            Ok(LeafKey::Ec {
                curve,
                point: bytes.to_vec(),
            })
        }
        other => match MlDsaLevel::from_oid(other) {
            Some(level) if bytes.len() == level.public_key_len() => Ok(LeafKey::MlDsa {
                level,
                encoded: bytes.to_vec(),
            }),
            Some(level) => Err(format!("malformed {} public key", level.name())),
            None => Err(format!("unsupported public key algorithm {other}")),
        },
    }
}

/// Verifies the request signature over the string to sign with the leaf's key, always through a
/// different library than the one the helper signs that key type with, so one bug cannot hide on
/// both sides:
///
/// | key | helper signs with | verified here with |
/// |---|---|---|
/// | RSA | ring | the `rsa` crate (PKCS#1 v1.5, SHA-256) |
/// | P-256 | ring | the `p256` crate |
/// | P-384 | the `p384` crate | ring |
/// | P-521 | the `p521` crate's signer | the `p521` crate's verifier (ring has no P-521; the wire-format tests check P-521 with openssl as well) |
/// | ML-DSA | the `ml-dsa` crate's signer | the `ml-dsa` crate's verifier (tests/key_formats.rs checks with dilithium-py as well) |
pub fn verify_request_signature(
    key: &LeafKey,
    string_to_sign: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    use signature::hazmat::PrehashVerifier;
    let failed = || {
        format!(
            "the signature does not verify with the certificate's {} key",
            key.describe()
        )
    };
    let digest = ring::digest::digest(&ring::digest::SHA256, string_to_sign);
    match key {
        LeafKey::Rsa { pkcs1_der, .. } => {
            use rsa::pkcs1::DecodeRsaPublicKey;
            let public_key = rsa::PublicKey::from_pkcs1_der(pkcs1_der).map_err(|_| failed())?;
            public_key
                .verify(
                    rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                    digest.as_ref(),
                    signature,
                )
                .map_err(|_| failed())
        }
        LeafKey::Ec {
            curve: EcCurve::P256,
            point,
        } => {
            let verifying_key =
                p256::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|_| failed())?;
            let signature = p256::ecdsa::Signature::from_der(signature).map_err(|_| failed())?;
            verifying_key
                .verify_prehash(digest.as_ref(), &signature)
                .map_err(|_| failed())
        }
        LeafKey::Ec {
            curve: EcCurve::P384,
            point,
        } => {
            // ring takes uncompressed points only; decompress a compressed one first.
            let point = uncompressed(EcCurve::P384, point).ok_or_else(failed)?;
            ring::signature::UnparsedPublicKey::new(
                &ring::signature::ECDSA_P384_SHA256_ASN1,
                &point,
            )
            .verify(string_to_sign, signature)
            .map_err(|_| failed())
        }
        // ML-DSA has one implementation (the ml-dsa crate), but its verifying code is not its
        // signing code, and tests/key_formats.rs checks the helper's signatures with an
        // independent Python one.
        LeafKey::MlDsa { level, encoded } => {
            if verify_ml_dsa(*level, encoded, string_to_sign, signature) {
                Ok(())
            } else {
                Err(failed())
            }
        }
        LeafKey::Ec {
            curve: EcCurve::P521,
            point,
        } => {
            let verifying_key =
                p521::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|_| failed())?;
            let signature = p521::ecdsa::Signature::from_der(signature).map_err(|_| failed())?;
            verifying_key
                .verify_prehash(digest.as_ref(), &signature)
                .map_err(|_| failed())
        }
    }
}

/// Verifies a pure ML-DSA signature with an empty context, with the ml-dsa crate's verifier.
fn verify_ml_dsa(level: MlDsaLevel, public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
    use ml_dsa::{MlDsa44, MlDsa65, MlDsa87, MlDsaParams};
    fn check<P: MlDsaParams>(public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
        let Ok(encoded) = ml_dsa::EncodedVerifyingKey::<P>::try_from(public_key) else {
            return false;
        };
        let Ok(encoded_signature) = ml_dsa::EncodedSignature::<P>::try_from(signature) else {
            return false;
        };
        let Some(signature) = ml_dsa::Signature::<P>::decode(&encoded_signature) else {
            return false;
        };
        ml_dsa::VerifyingKey::<P>::decode(&encoded).verify_with_context(message, &[], &signature)
    }
    match level {
        MlDsaLevel::L44 => check::<MlDsa44>(public_key, message, signature),
        MlDsaLevel::L65 => check::<MlDsa65>(public_key, message, signature),
        MlDsaLevel::L87 => check::<MlDsa87>(public_key, message, signature),
    }
}

/// The uncompressed SEC1 form of `point` (ring verifies with uncompressed points only).
fn uncompressed(curve: EcCurve, point: &[u8]) -> Option<Vec<u8>> {
    if point.first() == Some(&0x04) {
        return Some(point.to_vec());
    }
    match curve {
        EcCurve::P256 => p256::PublicKey::from_sec1_bytes(point)
            .ok()
            .map(|k| k.to_sec1_bytes().into_vec()),
        EcCurve::P384 => p384::PublicKey::from_sec1_bytes(point)
            .ok()
            .map(|k| k.to_sec1_bytes().into_vec()),
        EcCurve::P521 => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::Generate as _;
    use signature::hazmat::PrehashSigner as _;

    const MESSAGE: &[u8] = b"AWS4-X509-ECDSA-SHA256\n20251126T070000Z\n20251126/us-east-1/rolesanywhere/aws4_request\n00";

    fn sha256(data: &[u8]) -> Vec<u8> {
        ring::digest::digest(&ring::digest::SHA256, data)
            .as_ref()
            .to_vec()
    }

    #[test]
    fn verifies_p256_signatures_from_compressed_points() {
        let key = p256::ecdsa::SigningKey::from(p256::SecretKey::generate());
        let signature: p256::ecdsa::Signature = key.sign_prehash(&sha256(MESSAGE)).unwrap();
        let der = signature.to_der().as_bytes().to_vec();
        let point = key.verifying_key().to_sec1_bytes().to_vec();
        assert_eq!((point.len(), point[0]), (65, 0x04));
        let mut compressed = vec![0x02 | (point[64] & 1)];
        compressed.extend_from_slice(&point[1..33]);
        for point in [point, compressed] {
            let leaf_key = LeafKey::Ec {
                curve: EcCurve::P256,
                point,
            };
            verify_request_signature(&leaf_key, MESSAGE, &der).unwrap();
            assert!(verify_request_signature(&leaf_key, b"other", &der).is_err());
        }
    }

    #[test]
    fn verifies_p521_signatures_over_sha256() {
        let key = p521::ecdsa::SigningKey::from(p521::SecretKey::generate());
        let signature: p521::ecdsa::Signature = key.sign_prehash(&sha256(MESSAGE)).unwrap();
        let der = signature.to_der().as_bytes().to_vec();
        let leaf_key = LeafKey::Ec {
            curve: EcCurve::P521,
            point: key.verifying_key().to_sec1_bytes().to_vec(),
        };
        verify_request_signature(&leaf_key, MESSAGE, &der).unwrap();
        assert!(verify_request_signature(&leaf_key, b"other", &der).is_err());
        // A SHA-512 prehash (what the P-521 default would be) is refused.
        let digest = ring::digest::digest(&ring::digest::SHA512, MESSAGE);
        let wrong: p521::ecdsa::Signature = key.sign_prehash(digest.as_ref()).unwrap();
        assert!(verify_request_signature(&leaf_key, MESSAGE, wrong.to_der().as_bytes()).is_err());
        assert!(verify_request_signature(&leaf_key, MESSAGE, b"\x30\x00").is_err());
    }

    #[test]
    fn verifies_ml_dsa_signatures_with_an_empty_context() {
        use ml_dsa::{ExpandedSigningKey, MlDsa65, Seed};
        let key = ExpandedSigningKey::<MlDsa65>::from_seed(&Seed::from([7u8; 32]));
        let encoded = key.verifying_key().encode().to_vec();
        assert_eq!(encoded.len(), MlDsaLevel::L65.public_key_len());
        let signature = key
            .sign_deterministic(MESSAGE, &[])
            .unwrap()
            .encode()
            .to_vec();
        let leaf_key = LeafKey::MlDsa {
            level: MlDsaLevel::L65,
            encoded: encoded.clone(),
        };
        assert_eq!(leaf_key.describe(), "ML-DSA-65");
        verify_request_signature(&leaf_key, MESSAGE, &signature).unwrap();
        assert!(verify_request_signature(&leaf_key, b"other", &signature).is_err());
        // A signature made with a context is not the one AWS4-X509-MLDSA means.
        let with_context = key
            .sign_deterministic(MESSAGE, b"ctx")
            .unwrap()
            .encode()
            .to_vec();
        assert!(verify_request_signature(&leaf_key, MESSAGE, &with_context).is_err());
        // A key of another level, or a truncated signature, never verifies (and never panics).
        let other_level = LeafKey::MlDsa {
            level: MlDsaLevel::L44,
            encoded,
        };
        assert!(verify_request_signature(&other_level, MESSAGE, &signature).is_err());
        assert!(verify_request_signature(&leaf_key, MESSAGE, &signature[1..]).is_err());
    }
}
