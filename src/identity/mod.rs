//! The certificate and the key that signs for it, from a file, a PKCS#12 bundle, a PKCS#11 token
//! or a TPM: the one place that chooses a key back-end.

pub mod certificate;
pub(crate) mod der;
pub mod key_file;
pub mod mldsa;
pub mod pkcs11;
pub mod pkcs12;
pub mod secret_prompt;
mod signer;
pub mod tpm;

pub use signer::*;
