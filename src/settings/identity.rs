//! Where the certificate, its chain and the private key come from, as typed settings: the one
//! input of `identity::load`.

use std::path::PathBuf;

use zeroize::Zeroizing;

use crate::support::redact::pin_values;

/// Where a TPM key's password comes from.
#[derive(Clone, Default)]
pub enum TpmKeyPassword {
    /// `--tpm-key-password`.
    Given(Zeroizing<String>),
    /// `--no-tpm-key-password`.
    Empty,
    /// Neither flag: the key file's emptyAuth, else the terminal.
    #[default]
    Unspecified,
}

/// The certificate and key sources a command was given. Empty values are absent: `--certificate ""`
/// means no certificate, as in AWS's helper.
#[derive(Default)]
pub struct IdentitySpec {
    /// `--certificate`: a file, `env:NAME`, `-`, or a `pkcs11:` URI; may also hold the key.
    pub certificate: Option<String>,
    /// `--private-key`: a file, `env:NAME`, `-`, a `pkcs11:` URI or a TPM `handle:`.
    pub private_key: Option<String>,
    /// `--intermediates`: the chain, in file order.
    pub intermediates: Option<PathBuf>,
    /// `--pkcs11-lib`: the PKCS#11 module.
    pub pkcs11_lib: Option<String>,
    /// `--reuse-pin`: log in once for keys that demand a login before each signature.
    pub reuse_pin: bool,
    /// The TPM key's password.
    pub tpm_key_password: TpmKeyPassword,
    /// `--pkcs8-password`; asked on the terminal when absent and the key is encrypted.
    pub pkcs8_password: Option<Zeroizing<String>>,
    /// `--pkcs12-password`; empty, then asked on the terminal, when absent.
    pub pkcs12_password: Option<Zeroizing<String>>,
}

impl IdentitySpec {
    /// How errors name the certificate: `--certificate PATH`, a URI's PIN left out.
    pub fn certificate_input(&self) -> String {
        let certificate = self.certificate.as_deref().unwrap_or("");
        format!("--certificate {}", pin_values(certificate))
    }

    /// How errors name the key: `--private-key PATH` (a URI's PIN left out), or the certificate
    /// that holds it.
    pub fn key_input(&self) -> String {
        match &self.private_key {
            Some(key) => format!("--private-key {}", pin_values(key)),
            None => self.certificate_input(),
        }
    }
}
