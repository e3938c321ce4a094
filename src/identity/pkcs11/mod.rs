//! Keys (and certificates) that never leave a PKCS#11 token, named by RFC 7512 URIs: one module
//! initialisation per process, one session and login per signer, reopened when the token drops it.
//!
//! Lookup follows AWS's helper (and the openconnect rules it cites): certificates are searched
//! before login, then after login when exactly one token matches; the key by its URI, else by the
//! certificate's CKA_ID, and matched to the certificate by comparing public keys.

mod certificates;
mod errors;
mod generate;
mod keys;
mod load;
mod login;
mod module;
mod pin;
mod raw;
mod signer;
mod token;
mod uri;

use std::sync::atomic::{AtomicU64, Ordering};

use super::Signer;
use crate::error::{Error, Result};
use crate::identity::certificate::Certificate;
use crate::settings::identity::IdentitySpec;
use certificates::find_certificates;
pub(crate) use generate::generate_key;
use load::load_objects;
use login::PinState;
use module::{load_module, module_location};
use uri::Pkcs11Uri;
pub(crate) use uri::is_pkcs11_uri;

/// Parses a `pkcs11:` URI and shows it without its PIN (the fuzz targets' entry point).
#[cfg(feature = "fuzzing")]
pub(crate) fn parse_uri_redacted(text: &str) -> Result<String> {
    Pkcs11Uri::parse(text, "--private-key").map(|uri| uri.redacted())
}

/// C_Login calls for the user, counted by `login`.
static USER_LOGINS: AtomicU64 = AtomicU64::new(0);
/// Sessions opened, counted by `token`.
static SESSIONS_OPENED: AtomicU64 = AtomicU64::new(0);

/// How many times this process has called C_Login for the user (for tests and diagnostics).
pub fn user_login_count() -> u64 {
    USER_LOGINS.load(Ordering::SeqCst)
}

/// How many sessions this process has opened (for tests and diagnostics).
pub fn session_open_count() -> u64 {
    SESSIONS_OPENED.load(Ordering::SeqCst)
}

/// Whether the signing key is on a token: `--private-key` is a URI, or it is absent and
/// `--certificate` is one.
pub(crate) fn key_in_token(key: &IdentitySpec) -> bool {
    match key.private_key.as_deref() {
        Some(text) => is_pkcs11_uri(text),
        None => key.certificate.as_deref().is_some_and(is_pkcs11_uri),
    }
}

/// Whether any of the key arguments names a PKCS#11 object.
pub(crate) fn involved(key: &IdentitySpec) -> bool {
    [&key.certificate, &key.private_key]
        .into_iter()
        .flatten()
        .any(|v| is_pkcs11_uri(v))
}

/// What a PKCS#11 load yields: the leaf (when one was given), the token's chain for it, the signer.
pub struct TokenIdentity {
    /// The leaf certificate, from the token or its file; `None` when `--certificate` is absent.
    pub(crate) leaf: Option<Certificate>,
    /// From the token, when the leaf came from the token; otherwise empty.
    pub(crate) chain: Vec<Certificate>,
    /// `None` when the key is a file: the caller loads it as it loads any key file.
    pub signer: Option<Box<dyn Signer>>,
    /// How errors name the certificate argument.
    pub(crate) cert_input: String,
    /// How errors name the key argument.
    pub(crate) key_input: String,
}

/// Loads the certificate and key that `--certificate` / `--private-key` name, either of which may
/// be a `pkcs11:` URI (a missing `--private-key` means the certificate's URI, as in AWS's helper).
pub fn load(key: &IdentitySpec, want_token_chain: bool) -> Result<TokenIdentity> {
    load_objects(key, want_token_chain, true)
}

/// The certificate `--certificate pkcs11:…` names, without looking for its key.
pub(crate) fn load_certificate(key: &IdentitySpec) -> Result<Certificate> {
    load_objects(key, false, false)?
        .leaf
        .ok_or_else(|| Error::Internal("PKCS#11 load returned no certificate".into()))
}

/// `read-certificate-data` for a URI: the matching certificates with their full URIs, in the
/// layout of AWS's helper.
pub(crate) fn list_certificates(uri_text: &str, lib_flag: Option<&str>) -> Result<String> {
    let uri = Pkcs11Uri::parse(uri_text, "--certificate")?;
    let input = format!("--certificate {}", uri.redacted());
    let (path, module_input) = module_location(lib_flag, &[&uri])?;
    let module = load_module(&path, &module_input)?;
    let mut pins = PinState::new(vec![uri.clone()]);
    let (_open, certs) = find_certificates(&module, &uri, &input, &mut pins)?;
    if certs.is_empty() {
        return Ok("No matching identities\n".into());
    }
    let mut out = String::from("Matching identities\n");
    for (index, found) in certs.iter().enumerate() {
        let fingerprint =
            ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, &found.cert.der);
        out.push_str(&format!(
            "{}) {} \"{}\"\n\tIssuer: \"{}\"\n\tSerial: {}\n\tURI: {}\n",
            index + 1,
            hex::encode(fingerprint.as_ref()),
            found.cert.subject,
            found.cert.issuer,
            found.cert.serial_decimal,
            found.uri
        ));
    }
    Ok(out)
}
