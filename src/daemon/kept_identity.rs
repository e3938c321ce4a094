//! The identity a long-running command keeps between refreshes, loaded again only when what it
//! is loaded from changed: a renewed certificate (a file, or a token's certificate object) is
//! picked up at the next refresh, while a key on a PKCS#11 token or in a TPM keeps its session,
//! login or loaded object. Without renewal it warns of a certificate about to expire.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::error::Result;
use crate::identity::Identity;
use crate::settings::identity::{IdentitySpec, TpmKeyPassword};

/// How often the warning of an expiring certificate is repeated.
const WARN_EVERY: time::Duration = time::Duration::days(1);

/// The identity of the last refresh and a fingerprint of what it was loaded from. Dropping it
/// flushes a TPM key and closes a token session.
#[derive(Default)]
pub(crate) struct KeptIdentity {
    kept: Option<([u8; 32], Arc<Identity>)>,
    /// Nothing renews the certificate: warn when it expires within 30 days.
    warn_of_expiry: bool,
    /// When that warning was last given.
    warned_at: Option<OffsetDateTime>,
}

impl KeptIdentity {
    /// Nothing kept yet; `renewal_configured` silences the warning of an expiring certificate.
    pub(crate) fn new(renewal_configured: bool) -> KeptIdentity {
        KeptIdentity {
            warn_of_expiry: !renewal_configured,
            ..KeptIdentity::default()
        }
    }

    /// The kept identity when nothing it was loaded from changed, else a fresh load (kept).
    pub(crate) fn get(&mut self, spec: &IdentitySpec) -> Result<Arc<Identity>> {
        let fingerprint = fingerprint(spec);
        if let Some((kept_fingerprint, identity)) = &self.kept
            && *kept_fingerprint == fingerprint
            && !token_certificate_changed(spec, identity)
        {
            let identity = identity.clone();
            self.warn_if_expiring(&identity);
            return Ok(identity);
        }
        // Drop the old one first: a TPM without a resource manager has few object slots.
        self.kept = None;
        let identity = Arc::new(crate::identity::load(spec)?);
        self.kept = Some((fingerprint, identity.clone()));
        self.warned_at = None;
        self.warn_if_expiring(&identity);
        Ok(identity)
    }

    /// [`KeptIdentity::get`] on the identity the refresher and the renewer share.
    pub(crate) fn get_shared(
        shared: &std::sync::Mutex<KeptIdentity>,
        spec: &IdentitySpec,
    ) -> Result<Arc<Identity>> {
        shared
            .lock()
            .map_err(|_| {
                crate::error::Error::Internal("the kept identity's lock is poisoned".into())
            })?
            .get(spec)
    }

    /// Warns (once a day) when the certificate expires within 30 days and nothing renews it.
    fn warn_if_expiring(&mut self, identity: &Identity) {
        let now = OffsetDateTime::now_utc();
        if !self.warn_of_expiry || self.warned_at.is_some_and(|at| now - at < WARN_EVERY) {
            return;
        }
        if let Some(warning) = crate::enrollment::renew::expiry_warning(&identity.leaf, now) {
            tracing::warn!("{warning}");
            self.warned_at = Some(now);
        }
    }
}

/// Whether the certificate a `pkcs11:` URI names is no longer the kept one (renewed on the
/// token): read again at each refresh, since a token object has no contents to fingerprint.
/// A failed read keeps the loaded identity (its own use reports a token that is gone).
fn token_certificate_changed(spec: &IdentitySpec, identity: &Identity) -> bool {
    let on_token = spec
        .certificate
        .as_deref()
        .is_some_and(crate::identity::pkcs11::is_pkcs11_uri);
    if !on_token {
        return false;
    }
    // The certificate alone: finding the key again would log in to the token at each refresh.
    let certificate_only = IdentitySpec {
        certificate: spec.certificate.clone(),
        pkcs11_lib: spec.pkcs11_lib.clone(),
        ..IdentitySpec::default()
    };
    match crate::identity::load_leaf(&certificate_only) {
        Ok(leaf) if leaf.der != identity.leaf.der => {
            tracing::debug!(
                serial = leaf.serial_decimal,
                "the token holds a new certificate; loading it"
            );
            true
        }
        Ok(_) => false,
        Err(error) => {
            tracing::debug!(
                "reading the token's certificate again failed; keeping the loaded one: {error}"
            );
            false
        }
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
