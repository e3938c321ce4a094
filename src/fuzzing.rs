//! Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`, off in every normal build):
//! the parsers that are not public API, reached without making them public for everyone. Each
//! runs the library's own code on bytes someone else controls, with no I/O.

pub use crate::daemon::serve::fuzzing::{Outcome, Server};

/// Parses a `pkcs11:` URI (`--certificate` / `--private-key`); on success, the URI as messages
/// show it (every attribute but the PIN), which must parse back to itself.
pub fn pkcs11_uri(text: &str) -> crate::Result<String> {
    crate::identity::pkcs11::parse_uri_redacted(text)
}

/// Reads `answer` as a TPM's response over a byte stream and decodes it as the helper does.
pub fn tpm_response(answer: &[u8]) {
    crate::identity::tpm::fuzzing::response(answer)
}

/// Parses a TPM key file (`TSS2 PRIVATE KEY`, PEM or DER) up to where the TPM would load it.
pub fn tpm_key_file(bytes: &[u8]) -> crate::Result<()> {
    crate::identity::tpm::fuzzing::key_file(bytes)
}

/// Reads a cross-process cache file's text for cache key `name` as of `now`.
pub fn cache_entry(
    text: &[u8],
    name: &str,
    now: time::OffsetDateTime,
) -> Result<Option<crate::credentials::Credentials>, String> {
    crate::credentials::cache::parse_entry(text, name, now)
}
