//! Keys sealed in a TPM 2.0 (`TSS2 PRIVATE KEY` files and persistent `handle:0x81…` keys),
//! spoken to directly in TPM 2.0 command bytes: no tpm2-tss library, at build time or run time.
//!
//! One [`TpmKey`] keeps its connection and its loaded key across signatures (a long-running
//! process that holds it signs without re-creating anything), rebuilds both by itself after a
//! TPM reset, a restart or an eviction, and flushes what it loaded when dropped, since a TPM
//! without a resource manager has only about three object slots.

mod auth;
mod connection;
mod create;
#[cfg(feature = "fuzzing")]
pub(crate) mod fuzzing;
mod key;
mod keyfile;
mod rc;
mod scheme;
mod transport;
mod wire;

use super::Signer;
use crate::error::{Error, Result};
use crate::settings::identity::IdentitySpec;
pub(crate) use create::create_key;
pub use key::TpmKey;

/// The PEM label of TPM key files.
pub(crate) const TSS2_PEM_LABEL: &str = "TSS2 PRIVATE KEY";

/// Where the key's password comes from: the settings' type, under the name this module uses.
pub use crate::settings::identity::TpmKeyPassword as Password;

/// How to reach and unlock a TPM key.
#[derive(Default)]
pub struct Options {
    /// The key's password.
    pub password: Password,
    /// The TPM to use instead of `TPM_DEVICE` / the default devices (same syntax as `TPM_DEVICE`).
    pub device: Option<String>,
}

impl Options {
    /// The options the identity settings give.
    fn from_spec(spec: &IdentitySpec) -> Options {
        Options {
            password: spec.tpm_key_password.clone(),
            device: None,
        }
    }
}

/// The persistent TPM key `--private-key handle:0x81…` names, or `None` when it names something
/// else (a TSS2 key file is recognised by its contents: [`key_from_file_bytes`]).
pub(crate) fn load_if_tpm_handle(identity: &IdentitySpec) -> Result<Option<Box<dyn Signer>>> {
    let Some(spec) = identity.private_key.as_deref() else {
        return Ok(None);
    };
    let Some(handle) = spec.strip_prefix("handle:") else {
        return Ok(None);
    };
    tracing::debug!(key = spec, "using the TPM key");
    let handle = parse_persistent_handle(handle)?;
    let options = Options::from_spec(identity);
    let input = format!("--private-key {spec}");
    Ok(Some(Box::new(TpmKey::from_persistent_handle(
        handle, &input, &options,
    )?)))
}

/// The TPM key in the `--private-key` file `spec`, whose contents are `bytes`; `None` when the
/// file is not a TPM key file (the caller reads the file once for every kind of key).
pub(crate) fn key_from_file_bytes(
    identity: &IdentitySpec,
    spec: &str,
    bytes: &[u8],
) -> Result<Option<Box<dyn Signer>>> {
    if !is_tpm_key_file(bytes) {
        return Ok(None);
    }
    let options = Options::from_spec(identity);
    let input = format!("--private-key {spec}");
    tracing::debug!(key = spec, "using the TPM key");
    Ok(Some(Box::new(TpmKey::from_key_file_bytes(
        bytes, &input, &options,
    )?)))
}

/// True for a `TSS2 PRIVATE KEY` PEM (or the older `TSS2 KEY BLOB`), or the same structure in DER.
pub(crate) fn is_tpm_key_file(bytes: &[u8]) -> bool {
    let text_marker = |label: &str| {
        let marker = format!("-----BEGIN {label}-----");
        bytes.windows(marker.len()).any(|w| w == marker.as_bytes())
    };
    text_marker(TSS2_PEM_LABEL)
        || text_marker("TSS2 KEY BLOB")
        || keyfile::looks_like_der_tpm_key(bytes)
}

/// `0x81000101` (or without `0x`) → the handle, which must be a persistent one.
pub(crate) fn parse_persistent_handle(text: &str) -> Result<u32> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    let handle = u32::from_str_radix(digits, 16).map_err(|_| {
        Error::invalid_argument(
            "--private-key",
            format!("handle:{text} is not a hexadecimal TPM handle; write e.g. handle:0x81000101"),
        )
    })?;
    if handle >> 24 != 0x81 {
        return Err(Error::invalid_argument(
            "--private-key",
            format!(
                "handle:{text} is not a persistent key handle; persistent handles are 0x81000000 to 0x81FFFFFF (see `tpm2_getcap handles-persistent`)"
            ),
        ));
    }
    Ok(handle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_must_be_persistent_and_hexadecimal() {
        assert_eq!(
            parse_persistent_handle("0x81000101").ok(),
            Some(0x8100_0101)
        );
        assert_eq!(parse_persistent_handle("81000001").ok(), Some(0x8100_0001));
        for bad in ["0x80000001", "0x40000001", "zz", "", "0x1810000011"] {
            let error = parse_persistent_handle(bad).err().map(|e| e.exit_code());
            assert_eq!(error, Some(2), "handle:{bad}");
        }
    }

    #[test]
    fn recognises_tpm_key_files_and_nothing_else() {
        assert!(is_tpm_key_file(
            b"-----BEGIN TSS2 PRIVATE KEY-----\nMAA=\n-----END TSS2 PRIVATE KEY-----\n"
        ));
        assert!(is_tpm_key_file(b"-----BEGIN TSS2 KEY BLOB-----\n"));
        assert!(!is_tpm_key_file(b"-----BEGIN PRIVATE KEY-----\nMAA=\n"));
        assert!(!is_tpm_key_file(&[0x30, 0x03, 0x02, 0x01, 0x00]));
    }
}
