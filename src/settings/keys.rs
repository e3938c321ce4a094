//! What `generate-key` is asked for: the key type and its one destination, as typed settings.

use std::path::PathBuf;

use zeroize::Zeroizing;

/// The key types `generate-key` makes: the ones every destination (file, TPM, token) supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewKeyType {
    /// EC on NIST P-256.
    EcP256,
    /// EC on NIST P-384.
    EcP384,
    /// RSA, 2048 bits.
    Rsa2048,
    /// RSA, 3072 bits.
    Rsa3072,
}

impl NewKeyType {
    /// `ec-p256`, … as `--key-type` spells it.
    pub fn name(self) -> &'static str {
        match self {
            NewKeyType::EcP256 => "ec-p256",
            NewKeyType::EcP384 => "ec-p384",
            NewKeyType::Rsa2048 => "rsa-2048",
            NewKeyType::Rsa3072 => "rsa-3072",
        }
    }

    /// The RSA modulus size, for RSA types.
    pub fn rsa_bits(self) -> Option<usize> {
        match self {
            NewKeyType::Rsa2048 => Some(2048),
            NewKeyType::Rsa3072 => Some(3072),
            _ => None,
        }
    }
}

/// Where the new key is made and kept.
pub enum KeyDestination {
    /// A PKCS#8 PEM file, created 0600; never an existing file.
    File(PathBuf),
    /// Inside the TPM (`TPM_DEVICE`, else the default devices), saved as a `TSS2 PRIVATE KEY`
    /// file; never an existing file.
    Tpm {
        /// The key file.
        out: PathBuf,
        /// `--tpm-key-password`: the new key's password (none: empty, emptyAuth TRUE).
        password: Option<Zeroizing<String>>,
    },
    /// On a PKCS#11 token, labelled and identified as the URI says; never over an object with
    /// that label or id.
    Pkcs11 {
        /// The `pkcs11:` URI (token=, object=, id=, PIN attributes).
        uri: String,
        /// `--pkcs11-lib`.
        module: Option<String>,
    },
}

/// A `generate-key` request.
pub struct KeyGenerationSpec {
    /// What kind of key.
    pub key_type: NewKeyType,
    /// Where it is made.
    pub destination: KeyDestination,
}
