//! The certificate and the key that signs for it, from a file, a PKCS#12 bundle, a PKCS#11 token
//! or a TPM: [`load`] is the one place that chooses a key back-end, and [`Identity::new`] the one
//! place that checks the key against the certificate.

pub mod certificate;
pub(crate) mod der;
mod encrypted_pkcs8;
pub mod generate;
pub mod key_file;
pub mod mldsa;
pub mod pkcs11;
pub mod pkcs12;
pub mod secret_prompt;
mod signer;
pub mod tpm;

use std::path::Path;

use time::OffsetDateTime;

pub use signer::*;

use crate::error::{Error, Result};
use crate::settings::identity::IdentitySpec;
use crate::support::input_file;
use certificate::Certificate;
use secret_prompt::PasswordSource;

/// A leaf certificate, its chain and the key that signs for it, checked against each other.
pub struct Identity {
    /// The end-entity certificate sent as `X-Amz-X509`.
    pub leaf: Certificate,
    /// The intermediates sent as `X-Amz-X509-Chain`, in order; never the leaf.
    pub chain: Vec<Certificate>,
    /// The key that signs for the leaf.
    pub signer: Box<dyn Signer>,
    /// How errors name the certificate (a token URI without its PIN).
    certificate_input: String,
}

impl Identity {
    /// The only constructor: refuses a key that does not match the certificate, and drops the
    /// leaf from the chain (a full-chain bundle repeats it; `X-Amz-X509-Chain` never holds it).
    pub fn new(
        leaf: Certificate,
        mut chain: Vec<Certificate>,
        signer: Box<dyn Signer>,
        certificate_input: String,
        key_input: &str,
    ) -> Result<Identity> {
        leaf.check_key_matches(signer.public_key(), &certificate_input, key_input)?;
        chain.retain(|c| c.der != leaf.der);
        Ok(Identity {
            leaf,
            chain,
            signer,
            certificate_input,
        })
    }

    /// Refuses a certificate that is not valid at `now`.
    pub fn check_validity(&self, now: OffsetDateTime) -> Result<()> {
        self.leaf.check_validity(now, &self.certificate_input)
    }
}

/// Loads the certificate, its chain and its key from wherever they live, checked against each
/// other (not yet against the clock: see [`Identity::check_validity`]).
pub fn load(spec: &IdentitySpec) -> Result<Identity> {
    let Some(cert_path) = spec.certificate.as_deref() else {
        return Err(Error::invalid_argument(
            "--certificate",
            "is required; give the path of the certificate file",
        ));
    };
    if pkcs11::involved(spec) {
        return load_with_token(spec);
    }
    let cert_input = spec.certificate_input();
    let cert_bytes = input_file::read(Path::new(cert_path), "--certificate")?;
    if pkcs12::looks_like_pkcs12(&cert_bytes) {
        return load_pkcs12(spec, &cert_bytes, cert_input);
    }
    let mut certificate_file = certificate::parse_bundle(&cert_bytes, &cert_input)?;
    let leaf = certificate_file.remove(0);
    // Without --intermediates, the other certificates of a full-chain file are the chain.
    let chain = match &spec.intermediates {
        Some(path) => certificate::load_chain(path)?,
        None => certificate_file,
    };
    let signer = load_signer(spec)?;
    Identity::new(leaf, chain, signer, cert_input, &spec.key_input())
}

/// The leaf certificate alone, wherever it lives (for checks that need no key).
pub fn load_leaf(spec: &IdentitySpec) -> Result<Certificate> {
    let Some(cert_path) = spec.certificate.as_deref() else {
        return Err(Error::invalid_argument(
            "--certificate",
            "is required; give the path of the certificate file",
        ));
    };
    if pkcs11::is_pkcs11_uri(cert_path) {
        return pkcs11::load_certificate(spec);
    }
    let cert_input = spec.certificate_input();
    let bytes = input_file::read(Path::new(cert_path), "--certificate")?;
    if pkcs12::looks_like_pkcs12(&bytes) {
        let password = spec.pkcs12_password.as_deref().map(String::as_str);
        return Ok(pkcs12::open(&bytes, &cert_input, password)?.leaf);
    }
    Ok(certificate::parse_bundle(&bytes, &cert_input)?.remove(0))
}

/// What `read-certificate-data` shows.
pub enum CertificateData {
    /// Every certificate a token URI matches, with its URI, in AWS's helper's layout.
    TokenListing(String),
    /// The one leaf certificate of a file or bundle.
    Leaf(Certificate),
}

/// The certificates `--certificate` names, for `read-certificate-data`.
pub fn certificate_data(spec: &IdentitySpec) -> Result<CertificateData> {
    match spec.certificate.as_deref() {
        Some(uri) if pkcs11::is_pkcs11_uri(uri) => Ok(CertificateData::TokenListing(
            pkcs11::list_certificates(uri, spec.pkcs11_lib.as_deref())?,
        )),
        _ => load_leaf(spec).map(CertificateData::Leaf),
    }
}

/// The key that signs: `--private-key`, else the `--certificate` file when it also holds the key.
pub fn load_signer(spec: &IdentitySpec) -> Result<Box<dyn Signer>> {
    if pkcs11::key_in_token(spec) {
        return pkcs11::load(spec, false)?
            .signer
            .ok_or_else(|| Error::Internal("PKCS#11 load returned no signer".into()));
    }
    if let Some(tpm_key) = tpm::load_if_tpm_handle(spec)? {
        return Ok(tpm_key);
    }
    let password = match spec.pkcs8_password.as_deref() {
        Some(password) => PasswordSource::Given(password),
        None => PasswordSource::Terminal,
    };
    let Some(path) = spec.private_key.as_deref() else {
        let Some(cert_path) = spec.certificate.as_deref() else {
            return Err(Error::invalid_argument(
                "--private-key",
                "is required; give the path of the private key file",
            ));
        };
        let bytes = input_file::read_secret(Path::new(cert_path), "--certificate")?;
        let input = spec.certificate_input();
        if pkcs12::looks_like_pkcs12(&bytes) {
            let password = spec.pkcs12_password.as_deref().map(String::as_str);
            return Ok(Box::new(pkcs12::open(&bytes, &input, password)?.key));
        }
        if !key_file::holds_private_key(&bytes) {
            return Err(Error::invalid_argument(
                "--private-key",
                "is required (the --certificate file holds no private key)",
            ));
        }
        return Ok(Box::new(key_file::parse_with_password(
            &bytes, &input, password,
        )?));
    };
    let bytes = input_file::read_secret(Path::new(path), "--private-key")?;
    if let Some(tpm_key) = tpm::key_from_file_bytes(spec, path, &bytes)? {
        return Ok(tpm_key);
    }
    Ok(Box::new(key_file::parse_with_password(
        &bytes,
        &spec.key_input(),
        password,
    )?))
}

/// The key that signs for `sign-string`: checked against the certificate when one is given.
pub fn load_signer_checked(spec: &IdentitySpec) -> Result<Box<dyn Signer>> {
    match spec.certificate {
        Some(_) => Ok(load(spec)?.signer),
        None => load_signer(spec),
    }
}

/// The identity when the certificate or the key (or both) live on a PKCS#11 token.
fn load_with_token(spec: &IdentitySpec) -> Result<Identity> {
    let token = pkcs11::load(spec, spec.intermediates.is_none())?;
    let leaf = match token.leaf {
        Some(leaf) => leaf,
        None => load_leaf(spec)?,
    };
    let signer = match token.signer {
        Some(signer) => signer,
        None => load_signer(spec)?,
    };
    let chain = match &spec.intermediates {
        Some(path) => certificate::load_chain(path)?,
        None => token.chain,
    };
    Identity::new(leaf, chain, signer, token.cert_input, &token.key_input)
}

/// The identity inside a PKCS#12 `--certificate`: its leaf, chain and key.
fn load_pkcs12(spec: &IdentitySpec, bytes: &[u8], cert_input: String) -> Result<Identity> {
    // As AWS's helper: the bundle is the whole identity.
    if spec.intermediates.is_some() {
        return Err(Error::invalid_argument(
            "--intermediates",
            "cannot be used with a PKCS#12 --certificate; put the chain in the bundle",
        ));
    }
    if spec.private_key.is_some() {
        return Err(Error::invalid_argument(
            "--private-key",
            "cannot be used with a PKCS#12 --certificate; the bundle holds the key",
        ));
    }
    let password = spec.pkcs12_password.as_deref().map(String::as_str);
    let contents = pkcs12::open(bytes, &cert_input, password)?;
    let key_input = cert_input.clone();
    Identity::new(
        contents.leaf,
        contents.others,
        Box::new(contents.key),
        cert_input,
        &key_input,
    )
}
