//! The identity a long-running command keeps between refreshes, loaded again only when what it
//! is loaded from changed: a renewed certificate is picked up at the next refresh, while a key
//! on a PKCS#11 token or in a TPM keeps its session, login or loaded object.

use std::sync::Arc;

use crate::error::Result;
use crate::identity::Identity;
use crate::settings::identity::{IdentitySpec, TpmKeyPassword};

/// The identity of the last refresh and a fingerprint of what it was loaded from. Dropping it
/// flushes a TPM key and closes a token session.
#[derive(Default)]
pub(crate) struct KeptIdentity {
    kept: Option<([u8; 32], Arc<Identity>)>,
}

impl KeptIdentity {
    /// The kept identity when nothing it was loaded from changed, else a fresh load (kept).
    pub(crate) fn get(&mut self, spec: &IdentitySpec) -> Result<Arc<Identity>> {
        let fingerprint = fingerprint(spec);
        if let Some((kept_fingerprint, identity)) = &self.kept
            && *kept_fingerprint == fingerprint
        {
            return Ok(identity.clone());
        }
        // Drop the old one first: a TPM without a resource manager has few object slots.
        self.kept = None;
        let identity = Arc::new(crate::identity::load(spec)?);
        self.kept = Some((fingerprint, identity.clone()));
        Ok(identity)
    }
}

/// A hash of what the identity is loaded from: every argument, and the contents of the files
/// among them (URIs, handles, `env:` and `-` stand for themselves).
fn fingerprint(spec: &IdentitySpec) -> [u8; 32] {
    use sha2::Digest as _;
    let mut hash = sha2::Sha256::new();
    let intermediates = spec
        .intermediates
        .as_ref()
        .map(|p| p.to_string_lossy().into_owned());
    let sources = [&spec.certificate, &spec.private_key, &intermediates];
    for source in sources {
        let text = source.as_deref().unwrap_or("");
        hash.update((text.len() as u64).to_be_bytes());
        hash.update(text.as_bytes());
        let is_file = !text.is_empty()
            && !text.starts_with("pkcs11:")
            && !text.starts_with("handle:")
            && !text.starts_with("env:")
            && text != "-";
        // Bounded, and never a FIFO or a device: those are read once, by the load.
        if is_file
            && let Some(contents) =
                crate::support::input_file::regular_file_contents(std::path::Path::new(text))
        {
            hash.update(sha2::Sha256::digest(&contents));
        }
    }
    let tpm_key_password = match &spec.tpm_key_password {
        TpmKeyPassword::Given(password) => Some(password.as_str()),
        TpmKeyPassword::Empty | TpmKeyPassword::Unspecified => None,
    };
    for value in [
        spec.pkcs11_lib.as_deref(),
        spec.pkcs8_password.as_deref().map(String::as_str),
        spec.pkcs12_password.as_deref().map(String::as_str),
        tpm_key_password,
    ] {
        hash.update([u8::from(value.is_some())]);
        hash.update(sha2::Sha256::digest(value.unwrap_or("").as_bytes()));
    }
    hash.update([
        u8::from(spec.reuse_pin),
        u8::from(matches!(spec.tpm_key_password, TpmKeyPassword::Empty)),
    ]);
    hash.finalize().into()
}
