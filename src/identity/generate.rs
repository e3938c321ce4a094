//! New keys: [`generate_key`] is the one place that chooses where a key is born (a PKCS#8 file,
//! a TPM, a PKCS#11 token), each back-end making it in its own way; file keys are made here.

use pkcs8::EncodePrivateKey;
use pkcs8::der::pem::LineEnding;
use rsa::Generate as _;
use zeroize::Zeroizing;

use super::{PublicKey, Signer, key_file, pkcs11, tpm};
use crate::error::{Error, Result};
use crate::settings::keys::{KeyDestination, KeyGenerationSpec, NewKeyType};
use crate::support::private_file;

/// A key just made: its public half and how `--private-key` names it from now on.
pub struct NewKey {
    /// The public key.
    pub public: PublicKey,
    /// The file path or `pkcs11:` URI (without a PIN) to give as `--private-key`.
    pub private_key: String,
}

/// Makes a key of the asked type where the spec says, never over an existing file or object.
pub fn generate_key(spec: &KeyGenerationSpec) -> Result<NewKey> {
    match &spec.destination {
        KeyDestination::File(path) => {
            let input = format!("--out {}", path.display());
            private_file::refuse_existing(path, &input)?;
            let pem = new_pkcs8_pem(spec.key_type)?;
            // Read back by the parser every command uses: the file is known to load.
            let public = key_file::parse(pem.as_bytes(), &input)?
                .public_key()
                .clone();
            private_file::write_new_private_file(path, pem.as_bytes(), &input)?;
            Ok(NewKey {
                public,
                private_key: path.display().to_string(),
            })
        }
        KeyDestination::Tpm { out, password } => {
            let input = format!("--out {}", out.display());
            private_file::refuse_existing(out, &input)?;
            let (pem, public) =
                tpm::create_key(spec.key_type, password.as_ref().map(|p| p.as_str()), &input)?;
            private_file::write_new_private_file(out, pem.as_bytes(), &input)?;
            Ok(NewKey {
                public,
                private_key: out.display().to_string(),
            })
        }
        KeyDestination::Pkcs11 { uri, module } => {
            let (public, private_key) =
                pkcs11::generate_key(spec.key_type, uri, module.as_deref())?;
            Ok(NewKey {
                public,
                private_key,
            })
        }
    }
}

/// A new key of `key_type` as unencrypted PKCS#8 PEM, from the OS random source.
fn new_pkcs8_pem(key_type: NewKeyType) -> Result<Zeroizing<String>> {
    let failed = |e: &dyn std::fmt::Display| {
        Error::Internal(format!("generating a {} key: {e}", key_type.name()))
    };
    let pem = match key_type {
        NewKeyType::EcP256 => p256::SecretKey::try_generate()
            .map_err(|e| failed(&e))?
            .to_pkcs8_pem(LineEnding::LF),
        NewKeyType::EcP384 => p384::SecretKey::try_generate()
            .map_err(|e| failed(&e))?
            .to_pkcs8_pem(LineEnding::LF),
        NewKeyType::Rsa2048 | NewKeyType::Rsa3072 => {
            let bits = key_type.rsa_bits().unwrap_or(3072);
            rsa::PrivateKey::new(&mut getrandom::SysRng, bits)
                .map_err(|e| failed(&e))?
                .to_pkcs8_pem(LineEnding::LF)
        }
    };
    pem.map_err(|e| failed(&e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Curve;

    #[test]
    fn file_keys_are_made_0600_and_never_over_an_existing_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let mut failures = Vec::new();
        for (key_type, describe) in [
            (NewKeyType::EcP256, "EC P-256"),
            (NewKeyType::EcP384, "EC P-384"),
            (NewKeyType::Rsa2048, "RSA 2048"),
        ] {
            let path = dir.path().join(key_type.name());
            let spec = KeyGenerationSpec {
                key_type,
                destination: KeyDestination::File(path.clone()),
            };
            let key = generate_key(&spec).unwrap();
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            let bytes = std::fs::read(&path).unwrap();
            let again = generate_key(&spec).err().map(|e| e.to_string());
            let checks = [
                ("the key type", key.public.describe() == describe),
                ("mode 0600", mode == 0o600),
                (
                    "PKCS#8 PEM",
                    bytes.starts_with(b"-----BEGIN PRIVATE KEY-----\n"),
                ),
                (
                    "loads as the same key",
                    key_file::parse(&bytes, "t")
                        .map(|k| k.public_key().clone())
                        .ok()
                        == Some(key.public.clone()),
                ),
                (
                    "a second run is refused",
                    again.is_some_and(|e| e.contains("already exists")),
                ),
                (
                    "a second run changes nothing",
                    std::fs::read(&path).unwrap() == bytes,
                ),
            ];
            for (what, held) in checks {
                if !held {
                    failures.push(format!("{describe}: {what}"));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert!(matches!(
            generate_key(&KeyGenerationSpec {
                key_type: NewKeyType::EcP256,
                destination: KeyDestination::File(dir.path().join("p")),
            })
            .unwrap()
            .public,
            PublicKey::Ec {
                curve: Curve::P256,
                ..
            }
        ));
    }
}
