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
