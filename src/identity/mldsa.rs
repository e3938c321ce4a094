//! ML-DSA (FIPS 204) private keys in PKCS#8, in the three forms OpenSSL 3.5 writes (the seed,
//! the expanded key, or both), signing pure ML-DSA with an empty context (`AWS4-X509-MLDSA`).

use ml_dsa::{ExpandedSigningKey, MlDsa44, MlDsa65, MlDsa87, MlDsaParams};

use super::{MlDsaLevel, PublicKey};
use crate::error::{Error, Result};

/// A ML-DSA signing key of any level.
pub enum MlDsaKey {
    /// ML-DSA-44.
    L44(Box<ExpandedSigningKey<MlDsa44>>),
    /// ML-DSA-65.
    L65(Box<ExpandedSigningKey<MlDsa65>>),
    /// ML-DSA-87.
    L87(Box<ExpandedSigningKey<MlDsa87>>),
}

impl MlDsaKey {
    /// Parses the PKCS#8 `privateKey` contents of a key of `level`.
    // Never inlined: expanding a key needs a stack frame of about 290 KB, and inlined into the
    // PKCS#8 parser every key file (P-256, RSA) paid for it in touched stack pages.
    #[inline(never)]
    pub fn from_private_key(
        level: MlDsaLevel,
        private_key: &[u8],
        input: &str,
    ) -> Result<MlDsaKey> {
        match level {
            MlDsaLevel::L44 => Ok(MlDsaKey::L44(Box::new(expanded::<MlDsa44>(
                level,
                private_key,
                input,
            )?))),
            MlDsaLevel::L65 => Ok(MlDsaKey::L65(Box::new(expanded::<MlDsa65>(
                level,
                private_key,
                input,
            )?))),
            MlDsaLevel::L87 => Ok(MlDsaKey::L87(Box::new(expanded::<MlDsa87>(
                level,
                private_key,
                input,
            )?))),
        }
    }

    /// The public key, in the canonical form.
    pub fn public_key(&self) -> PublicKey {
        let (level, encoded) = match self {
            MlDsaKey::L44(k) => (MlDsaLevel::L44, k.verifying_key().encode().to_vec()),
            MlDsaKey::L65(k) => (MlDsaLevel::L65, k.verifying_key().encode().to_vec()),
            MlDsaKey::L87(k) => (MlDsaLevel::L87, k.verifying_key().encode().to_vec()),
        };
        PublicKey::MlDsa { level, encoded }
    }

    /// Pure ML-DSA over `message` with an empty context, in the deterministic variant.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let failed = |_| Error::Internal("ML-DSA signing failed".into());
        Ok(match self {
            MlDsaKey::L44(k) => k
                .sign_deterministic(message, &[])
                .map_err(failed)?
                .encode()
                .to_vec(),
            MlDsaKey::L65(k) => k
                .sign_deterministic(message, &[])
                .map_err(failed)?
                .encode()
                .to_vec(),
            MlDsaKey::L87(k) => k
                .sign_deterministic(message, &[])
                .map_err(failed)?
                .encode()
                .to_vec(),
        })
    }
}

/// The `privateKey` OCTET STRING holds one of
/// `seed [0] IMPLICIT OCTET STRING (32)`, `expandedKey OCTET STRING`, or
/// `both SEQUENCE { seed OCTET STRING, expandedKey OCTET STRING }`.
fn expanded<P: MlDsaParams>(
    level: MlDsaLevel,
    contents: &[u8],
    input: &str,
) -> Result<ExpandedSigningKey<P>> {
    let malformed = |what: &str| {
        Error::bad_input(
            input,
            format!("malformed {} private key: {what}", level.name()),
        )
    };
    let (tag, body, rest) = super::der::element(contents).ok_or_else(|| malformed("not DER"))?;
    if !rest.is_empty() {
        return Err(malformed("trailing bytes"));
    }
    match tag {
        0x80 => from_seed::<P>(body).ok_or_else(|| malformed("the seed is not 32 bytes")),
        0x04 => {
            from_expanded::<P>(body).ok_or_else(|| malformed("the expanded key has the wrong size"))
        }
        0x30 => {
            let (seed_tag, seed, rest) =
                super::der::element(body).ok_or_else(|| malformed("bad seed"))?;
            let (expanded_tag, expanded_bytes, rest) =
                super::der::element(rest).ok_or_else(|| malformed("bad expanded key"))?;
            if seed_tag != 0x04 || expanded_tag != 0x04 || !rest.is_empty() {
                return Err(malformed("unexpected structure"));
            }
            let key = from_seed::<P>(seed).ok_or_else(|| malformed("the seed is not 32 bytes"))?;
            #[allow(deprecated)] // comparing, not trusting, the expanded form
            if key.to_expanded().as_slice() != expanded_bytes {
                return Err(malformed("the seed and the expanded key disagree"));
            }
            Ok(key)
        }
        _ => Err(malformed("unknown private key form")),
    }
}

fn from_seed<P: MlDsaParams>(seed: &[u8]) -> Option<ExpandedSigningKey<P>> {
    let seed = ml_dsa::Seed::try_from(seed).ok()?;
    Some(ExpandedSigningKey::from_seed(&seed))
}

#[allow(deprecated)] // the expanded-only form is one OpenSSL 3.5 writes; users have such files
fn from_expanded<P: MlDsaParams>(bytes: &[u8]) -> Option<ExpandedSigningKey<P>> {
    let encoded = ml_dsa::ExpandedSigningKeyBytes::<P>::try_from(bytes).ok()?;
    Some(ExpandedSigningKey::from_expanded(&encoded))
}

/// Verifies a pure ML-DSA signature with an empty context (for the local endpoint).
pub fn verify(level: MlDsaLevel, public_key: &[u8], message: &[u8], signature: &[u8]) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{Digest, Signer, key_file as file};
    use rolesanywhere_testbed::pki::{GeneratedKey, MlDsaForm};
    use sha2::Digest as _;

    /// The test bed's name for the same parameter set (it shares no types with the helper).
    fn pki(level: MlDsaLevel) -> rolesanywhere_testbed::pki::MlDsaLevel {
        match level {
            MlDsaLevel::L44 => rolesanywhere_testbed::pki::MlDsaLevel::L44,
            MlDsaLevel::L65 => rolesanywhere_testbed::pki::MlDsaLevel::L65,
            MlDsaLevel::L87 => rolesanywhere_testbed::pki::MlDsaLevel::L87,
        }
    }

    /// Known answers from dilithium-py, an independent FIPS 204 implementation
    /// (`certs/make-mldsa-kat.py`), for keys read from each PKCS#8 form.
    #[test]
    fn deterministic_signatures_match_an_independent_implementation() {
        let kat: serde_json::Value =
            serde_json::from_str(include_str!("../../certs/mldsa-kat.json")).unwrap();
        let seed: [u8; 32] = hex::decode(kat["seed"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let message = kat["message"].as_str().unwrap().as_bytes();
        for level in [MlDsaLevel::L44, MlDsaLevel::L65, MlDsaLevel::L87] {
            let expected = &kat["vectors"][level.name()];
            for form in [MlDsaForm::Seed, MlDsaForm::Expanded, MlDsaForm::Both] {
                let generated = GeneratedKey::ml_dsa(pki(level), form, &seed).unwrap();
                let key = file::parse(&generated.pkcs8_der, "kat").unwrap();
                let PublicKey::MlDsa { encoded, .. } = key.public_key() else {
                    panic!("not ML-DSA")
                };
                assert_eq!(
                    hex::encode(sha2::Sha256::digest(encoded)),
                    expected["public_key_sha256"],
                    "{level:?} {form:?}"
                );
                let signature = key.sign(message, Digest::Sha256).unwrap();
                assert_eq!(
                    signature.len() as u64,
                    expected["signature_len"].as_u64().unwrap()
                );
                assert_eq!(
                    hex::encode(sha2::Sha256::digest(&signature)),
                    expected["signature_sha256"],
                    "{level:?} {form:?}"
                );
                assert!(verify(level, encoded, message, &signature));
                assert!(!verify(level, encoded, b"another message", &signature));
            }
        }
    }

    #[test]
    fn rejects_inconsistent_or_malformed_private_keys() {
        assert!(
            MlDsaKey::from_private_key(
                MlDsaLevel::L65,
                &[0x80, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                "k"
            )
            .is_err()
        );
        assert!(MlDsaKey::from_private_key(MlDsaLevel::L65, &[0x04, 0x03, 1, 2, 3], "k").is_err());
        assert!(MlDsaKey::from_private_key(MlDsaLevel::L65, &[0x05, 0x00], "k").is_err());
        // A seed that does not match the expanded key next to it.
        let a = GeneratedKey::ml_dsa(pki(MlDsaLevel::L44), MlDsaForm::Both, &[1; 32]).unwrap();
        let mut tampered = a.pkcs8_der.to_vec();
        let at = tampered.windows(32).position(|w| w == [1u8; 32]).unwrap();
        tampered[at] ^= 0xff;
        let error = file::parse(&tampered, "tampered").err().unwrap();
        assert!(error.to_string().contains("disagree"), "{error}");
    }
}
