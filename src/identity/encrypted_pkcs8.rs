//! Encrypted PKCS#8 keys (`ENCRYPTED PRIVATE KEY`): recognising them, naming the schemes that
//! cannot be decrypted, and decrypting PBES2 with the password given or asked for.

use crate::error::{Error, Result};
use crate::identity::secret_prompt::{self, PasswordSource};

/// An `EncryptedPrivateKeyInfo`: `SEQUENCE { SEQUENCE { OID pbes… }, OCTET STRING }`.
pub(crate) fn looks_like_encrypted_pkcs8(der: &[u8]) -> bool {
    const PKCS5_ARC: [u8; 8] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05]; // 1.2.840.113549.1.5
    const PKCS12_PBE_ARC: [u8; 9] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01];
    der.first() == Some(&0x30)
        && (find(der, &PKCS5_ARC).is_some_and(|at| at < 16)
            || find(der, &PKCS12_PBE_ARC).is_some_and(|at| at < 16))
}

pub(crate) fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Names the encryption of a key we cannot decrypt, so the user is not told "wrong password".
fn unsupported_encryption(der: &[u8]) -> Option<&'static str> {
    const SCHEMES: &[(&[u8], &str)] = &[
        (
            &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x0c, 0x01],
            "a PKCS#12 PBE scheme (legacy, e.g. SHA1-3DES)",
        ),
        (
            &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x03],
            "PBES1 (MD5 and DES)",
        ),
        (
            &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x06],
            "PBES1 (MD5 and RC2)",
        ),
        (
            &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0a],
            "PBES1 (SHA-1 and DES)",
        ),
        (
            &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0b],
            "PBES1 (SHA-1 and RC2)",
        ),
        (
            &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x03, 0x07],
            "3DES (des-ede3-cbc)",
        ),
        (&[0x2b, 0x0e, 0x03, 0x02, 0x07], "DES (des-cbc)"),
        (
            &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x03, 0x02],
            "RC2 (rc2-cbc)",
        ),
    ];
    SCHEMES
        .iter()
        .find(|(oid, _)| find(der, oid).is_some())
        .map(|(_, name)| *name)
}

/// The most scrypt memory a key may ask for, `128 * r * (N + p)` bytes: OpenSSL's own limit
/// (`SCRYPT_MAX_MEM`, 32 MiB), so every key OpenSSL can read is read, and a file asking for
/// terabytes is refused instead of aborting the process when the allocation fails.
#[cfg_attr(feature = "fuzzing", allow(dead_code))]
const MAX_SCRYPT_MEMORY: u128 = 32 * 1024 * 1024;
/// The most PBKDF2 iterations: the `pkcs5` crate's own limit (100,000,000, about a minute).
#[cfg_attr(feature = "fuzzing", allow(dead_code))]
const MAX_PBKDF2_ITERATIONS: u32 = 100_000_000;

/// Under the fuzz targets (`fuzzing` feature) each input must take milliseconds, so the KDF
/// work is capped far lower there: the parsers before and after the KDF are what is fuzzed.
#[cfg(feature = "fuzzing")]
const WORK_LIMITS: (u128, u32) = (1024 * 1024, 2048);
#[cfg(not(feature = "fuzzing"))]
const WORK_LIMITS: (u128, u32) = (MAX_SCRYPT_MEMORY, MAX_PBKDF2_ITERATIONS);

/// Refuses key derivation parameters that would take more memory or time than any real key
/// file asks for.
fn check_kdf_cost(kdf: &pkcs8::pkcs5::pbes2::Kdf, input: &str) -> Result<()> {
    let (max_memory, max_iterations) = WORK_LIMITS;
    let refuse = |what: String| {
        Err(Error::bad_input(
            input,
            format!(
                "the key's encryption asks for {what}, more than OpenSSL allows; re-encrypt it with `openssl pkcs8 -topk8 -v2 aes-256-cbc -in KEY -out NEW`"
            ),
        ))
    };
    match kdf {
        pkcs8::pkcs5::pbes2::Kdf::Pbkdf2(params) if params.iteration_count > max_iterations => {
            refuse(format!("{} PBKDF2 iterations", params.iteration_count))
        }
        // scrypt's N is a power of two above 1; the pkcs5 crate panics on N = 0 (an abort
        // under `panic = "abort"`) instead of refusing it.
        pkcs8::pkcs5::pbes2::Kdf::Scrypt(params)
            if params.cost_parameter < 2 || !params.cost_parameter.is_power_of_two() =>
        {
            Err(Error::bad_input(
                input,
                format!(
                    "the key's scrypt cost N = {} is not a power of two above 1, so no tool could have encrypted it; export the key again",
                    params.cost_parameter
                ),
            ))
        }
        pkcs8::pkcs5::pbes2::Kdf::Scrypt(params) => {
            let memory = 128
                * u128::from(params.block_size)
                * (u128::from(params.cost_parameter) + u128::from(params.parallelization));
            if memory > max_memory {
                refuse(format!("{} MiB of scrypt memory", memory / (1024 * 1024)))
            } else {
                Ok(())
            }
        }
        _ => Ok(()),
    }
}

/// Decrypts an `ENCRYPTED PRIVATE KEY` into its PKCS#8 `PrivateKeyInfo` (PBES2: PBKDF2 with
/// HMAC-SHA1/SHA-2 or scrypt, AES-CBC).
pub(crate) fn decrypt(
    der: &[u8],
    input: &str,
    password: PasswordSource<'_>,
) -> Result<pkcs8::SecretDocument> {
    let unsupported = |scheme: &str| {
        Error::bad_input(
            input,
            format!(
                "the key is encrypted with {scheme}, which is not supported; re-encrypt it with `openssl pkcs8 -topk8 -v2 aes-256-cbc -in KEY -out NEW`"
            ),
        )
    };
    let info = match pkcs8::EncryptedPrivateKeyInfoRef::try_from(der) {
        Ok(info) => info,
        Err(_) => {
            return Err(unsupported(
                unsupported_encryption(der).unwrap_or("an unknown scheme"),
            ));
        }
    };
    if let pkcs8::pkcs5::EncryptionScheme::Pbes1(_) = info.encryption_algorithm {
        return Err(unsupported(unsupported_encryption(der).unwrap_or("PBES1")));
    }
    if let pkcs8::pkcs5::EncryptionScheme::Pbes2(parameters) = &info.encryption_algorithm {
        check_kdf_cost(&parameters.kdf, input)?;
    }
    secret_prompt::with_password(
        password,
        &format!("Password for {input}: "),
        input,
        "--pkcs8-password",
        |candidate| match info.decrypt(candidate) {
            Ok(document) => Ok(Some(document)),
            // A wrong password shows up as bad padding or as garbage that is not a key.
            Err(pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::DecryptFailed)) => Ok(None),
            Err(pkcs8::Error::EncryptedPrivateKey(_)) => Err(unsupported(
                unsupported_encryption(der).unwrap_or("an unsupported PBES2 cipher or KDF"),
            )),
            Err(_) => Ok(None),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    /// PBES2 with scrypt N = 2^40, r = 8: 128 TiB. Before the limit, decrypting it aborted the
    /// process when the allocation failed (an out-of-memory found while writing the fuzz
    /// targets); now it is refused before any key derivation.
    const SCRYPT_TERABYTES: &str = "MIGHMFMGCSqGSIb3DQEFDTBGMCUGCSsGAQQB2kcECzAYBAgBAQEBAQEBAQIGAQAAAAAAAgEIAgEBMB0GCWCGSAFlAwQBKgQQAgICAgICAgICAgICAgICAgQwAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMD";

    /// The same key with scrypt N = 0: the pkcs5 crate's conversion panicked on it (found by
    /// the private_key fuzz target after 1.7M runs).
    const SCRYPT_N_ZERO: &str = "MIGCME4GCSqGSIb3DQEFDTBBMCAGCSsGAQQB2kcECzATBAgBAQEBAQEBAQIBAAIBCAIBATAdBglghkgBZQMEASoEEAICAgICAgICAgICAgICAgIEMAMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAw==";

    #[test]
    fn a_key_whose_scrypt_cost_is_not_a_power_of_two_above_one_is_refused_not_a_panic() {
        let der = base64::engine::general_purpose::STANDARD
            .decode(SCRYPT_N_ZERO)
            .unwrap();
        assert!(looks_like_encrypted_pkcs8(&der));
        let Err(error) = decrypt(&der, "--private-key k.pem", PasswordSource::Given("x")) else {
            panic!("a key with scrypt N = 0 was decrypted");
        };
        let message = error.to_string();
        assert!(message.starts_with("--private-key k.pem"), "{message}");
        assert!(message.contains("scrypt cost N = 0"), "{message}");
    }

    #[test]
    fn a_key_asking_for_more_scrypt_memory_than_openssl_allows_is_refused_before_deriving() {
        let der = base64::engine::general_purpose::STANDARD
            .decode(SCRYPT_TERABYTES)
            .unwrap();
        assert!(looks_like_encrypted_pkcs8(&der));
        let Err(error) = decrypt(&der, "--private-key k.pem", PasswordSource::Given("x")) else {
            panic!("a key asking for 128 TiB was decrypted");
        };
        let message = error.to_string();
        assert!(message.starts_with("--private-key k.pem"), "{message}");
        assert!(message.contains("MiB of scrypt memory"), "{message}");
    }
}
