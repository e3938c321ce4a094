//! Signature schemes: whether a key can make the signatures Roles Anywhere takes, which hash
//! TPM2_Sign is asked for, and the TPM's signature turned into the DER the `Signer` promises.

use super::connection::Failure;
use super::wire::{self, KeyParameters, PublicArea};
use crate::error::{Error, Result};
use crate::identity::{Curve, Digest, PublicKey};

/// The signature scheme TPM2_Sign is asked for.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Scheme {
    algorithm: u16,
    /// The hash the key's own scheme pins, if it pins one.
    fixed_hash: Option<u16>,
}

impl Scheme {
    /// The TPM hash algorithm for `digest`, refused when the key's scheme pins another one.
    pub(crate) fn hash_for(&self, digest: Digest, input: &str) -> Result<u16> {
        let hash = match digest {
            Digest::Sha256 => wire::ALG_SHA256,
            Digest::Sha384 => wire::ALG_SHA384,
            Digest::Sha512 => wire::ALG_SHA512,
        };
        if let Some(fixed) = self.fixed_hash
            && fixed != hash
        {
            return Err(Error::bad_input(
                input,
                format!(
                    "this TPM key's scheme fixes the hash (algorithm 0x{fixed:04x}); it cannot sign a {digest:?} digest"
                ),
            ));
        }
        Ok(hash)
    }

    /// TPM2_Sign's parameters: `digest` (made with `hash`), this scheme, no hashcheck ticket.
    pub(crate) fn sign_parameters(&self, digest: &[u8], hash: u16) -> Vec<u8> {
        let mut parameters = Vec::with_capacity(digest.len() + 16);
        wire::tpm2b(&mut parameters, digest);
        parameters.extend_from_slice(&self.algorithm.to_be_bytes());
        parameters.extend_from_slice(&hash.to_be_bytes());
        // A NULL hashcheck ticket: allowed for keys that are not restricted.
        parameters.extend_from_slice(&wire::ST_HASHCHECK.to_be_bytes());
        parameters.extend_from_slice(&wire::RH_NULL.to_be_bytes());
        wire::tpm2b(&mut parameters, &[]);
        parameters
    }
}

/// The signature in TPM2_Sign's response `body`: ECDSA as DER `SEQUENCE { r, s }`, RSA as is.
pub(crate) fn signature_from_response(body: &[u8]) -> Result<Vec<u8>, Failure> {
    let malformed = |m: wire::Malformed| Failure::Malformed("TPM2_Sign", m.0);
    let mut reader = wire::Reader::new(body);
    let _parameter_size = reader.u32("parameterSize").map_err(malformed)?;
    let algorithm = reader.u16("sigAlg").map_err(malformed)?;
    let _hash = reader.u16("hash").map_err(malformed)?;
    match algorithm {
        wire::ALG_ECDSA => {
            let r = reader.tpm2b("signatureR").map_err(malformed)?;
            let s = reader.tpm2b("signatureS").map_err(malformed)?;
            Ok(crate::identity::der::ecdsa_signature(r, s))
        }
        wire::ALG_RSASSA => Ok(reader.tpm2b("sig").map_err(malformed)?.to_vec()),
        other => Err(Failure::Malformed(
            "TPM2_Sign",
            format!("unexpected signature algorithm 0x{other:04x}"),
        )),
    }
}

/// Checks the key can make the signatures Roles Anywhere takes, and derives its public key.
pub(crate) fn usable_signing_key(area: &PublicArea, input: &str) -> Result<(PublicKey, Scheme)> {
    let refuse = |why: String| Err(Error::bad_input(input, why));
    if area.attributes & wire::ATTR_SIGN == 0 {
        let kind = if area.attributes & wire::ATTR_DECRYPT != 0 {
            "a decrypt-only key (no `sign` attribute)"
        } else {
            "a key without the `sign` attribute"
        };
        return refuse(format!(
            "this TPM key is {kind} and cannot sign; create it with the sign attribute (e.g. `openssl genpkey -provider tpm2`, or `tpm2_create -a sign|…`)"
        ));
    }
    if area.attributes & wire::ATTR_RESTRICTED != 0 {
        return refuse(
            "this TPM key is restricted (an attestation key) and signs only data the TPM made itself; use a non-restricted signing key".into(),
        );
    }
    if area.attributes & wire::ATTR_USER_WITH_AUTH == 0 {
        return refuse(
            "this TPM key can only be used through a policy session (userWithAuth is clear), which this helper does not support".into(),
        );
    }
    let (public, wanted) = match &area.key {
        KeyParameters::Ecc { curve, x, y } => {
            let (curve, field_len) = match *curve {
                wire::ECC_NIST_P256 => (Curve::P256, 32),
                wire::ECC_NIST_P384 => (Curve::P384, 48),
                wire::ECC_NIST_P521 => (Curve::P521, 66),
                other => {
                    return refuse(format!(
                        "this TPM key is on curve 0x{other:04x}; Roles Anywhere accepts NIST P-256, P-384 and P-521"
                    ));
                }
            };
            if x.len() > field_len || y.len() > field_len {
                return refuse("the TPM key's public point is malformed".into());
            }
            let mut point = Vec::with_capacity(1 + 2 * field_len);
            point.push(0x04);
            for coordinate in [x, y] {
                point.resize(point.len() + field_len - coordinate.len(), 0);
                point.extend_from_slice(coordinate);
            }
            (PublicKey::Ec { curve, point }, wire::ALG_ECDSA)
        }
        KeyParameters::Rsa { exponent, modulus } => {
            // An exponent of 0 in a TPM public area means the default, 65537.
            let exponent = if *exponent == 0 { 65537 } else { *exponent };
            let key = crate::identity::der::rsa_public_key(modulus, &exponent.to_be_bytes());
            if let PublicKey::Rsa { bits, .. } = &key
                && !(2048..=4096).contains(bits)
            {
                return refuse(format!(
                    "this TPM key is RSA {bits}; Roles Anywhere needs RSA 2048 to 4096"
                ));
            }
            (key, wire::ALG_RSASSA)
        }
    };
    let fixed_hash = match area.scheme {
        wire::ALG_NULL => None,
        scheme if scheme == wanted => Some(area.scheme_hash),
        other => {
            let needed = if wanted == wire::ALG_ECDSA {
                "ECDSA"
            } else {
                "RSASSA-PKCS1-v1_5"
            };
            return refuse(format!(
                "this TPM key is fixed to signature scheme 0x{other:04x}; Roles Anywhere needs {needed} (create the key with a NULL or {needed} scheme)"
            ));
        }
    };
    Ok((
        public,
        Scheme {
            algorithm: wanted,
            fixed_hash,
        },
    ))
}
