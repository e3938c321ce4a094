//! Certificates and their key from a PKCS#12 (`.p12` / `.pfx`) bundle, as Windows and Java
//! tooling write them: the modern form (PBES2 / AES-256-CBC, PBKDF2 MAC) and the legacy one
//! (3DES / RC2, SHA-1 MAC), with an empty or a given password.

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::identity::Signer;
use crate::identity::certificate::Certificate;
use crate::identity::key_file::{self, FileKey};
use crate::identity::secret_prompt::{self, PasswordSource};

/// The flag that gives the password (AWS's helper has none).
pub const PASSWORD_FLAG: &str = "--pkcs12-password";

/// What a bundle holds: the leaf (the certificate of the key), the other certificates, the key.
pub struct Pkcs12Contents {
    /// The certificate of the key.
    pub leaf: Certificate,
    /// The other certificates: the chain.
    pub others: Vec<Certificate>,
    /// The private key.
    pub key: FileKey,
}

/// True for DER that starts like a PFX: `SEQUENCE { INTEGER 3, …`.
pub fn looks_like_pkcs12(bytes: &[u8]) -> bool {
    let header = match bytes.get(1) {
        Some(&n) if n < 0x80 => 2,
        Some(&n) if (0x81..=0x84).contains(&n) => 2 + usize::from(n - 0x80),
        _ => return false,
    };
    bytes.first() == Some(&0x30) && bytes.get(header..header + 3) == Some(&[0x02, 0x01, 0x03][..])
}

/// Opens the bundle: with the given password; else the empty password, then the terminal.
pub fn open(bytes: &[u8], input: &str, password: Option<&str>) -> Result<Pkcs12Contents> {
    let archive = match password {
        Some(given) => try_password(bytes, input, given)?.ok_or_else(|| {
            Error::bad_input(
                input,
                format!("wrong PKCS#12 password (from {PASSWORD_FLAG})"),
            )
        })?,
        None => match try_password(bytes, input, "")? {
            Some(archive) => archive,
            None => secret_prompt::with_password(
                PasswordSource::Terminal,
                &format!("Password for {input}: "),
                input,
                PASSWORD_FLAG,
                |candidate| try_password(bytes, input, candidate),
            )?,
        },
    };
    let mut keys = archive.keys.iter();
    let key_der = match (keys.next(), keys.next()) {
        (Some(bag), None) => Zeroizing::new(bag.key.as_der().to_vec()),
        (None, _) => {
            return Err(Error::bad_input(
                input,
                "the PKCS#12 bundle holds no private key",
            ));
        }
        (Some(_), Some(_)) => {
            return Err(Error::bad_input(
                input,
                "the PKCS#12 bundle holds several private keys; export one identity",
            ));
        }
    };
    let key = key_file::parse(&key_der, input)?;
    let mut certificates = Vec::new();
    for bag in &archive.certs {
        certificates.push(Certificate::from_der(bag.cert.as_der(), input)?);
    }
    // The leaf is the certificate of the key; the others are its chain, in bundle order.
    let Some(position) = certificates
        .iter()
        .position(|c| c.public_key.as_ref().ok() == Some(key.public_key()))
    else {
        return Err(Error::bad_input(
            input,
            "the PKCS#12 bundle holds no certificate for its private key",
        ));
    };
    let leaf = certificates.remove(position);
    Ok(Pkcs12Contents {
        leaf,
        others: certificates,
        key,
    })
}

/// `Ok(None)` for a wrong password.
fn try_password(
    bytes: &[u8],
    input: &str,
    password: &str,
) -> Result<Option<p12_keystore::Pkcs12Archive>> {
    use p12_keystore::error::Error as P12Error;
    match p12_keystore::Pkcs12Archive::from_pkcs12(bytes, password) {
        Ok(archive) => Ok(Some(archive)),
        Err(P12Error::MacError(_) | P12Error::UnpadError) => Ok(None),
        Err(P12Error::UnsupportedEncryptionScheme) => Err(Error::bad_input(
            input,
            "the PKCS#12 bundle uses an unsupported encryption; re-export it with `openssl pkcs12 -export` (OpenSSL 3 defaults)",
        )),
        Err(other) => Err(Error::bad_input(
            input,
            format!("not a usable PKCS#12 bundle: {other}"),
        )),
    }
}
