//! The endpoint's TLS server identity: the one given, or a throwaway server certificate for
//! 127.0.0.1, ::1 and localhost issued by a throwaway CA whose PEM clients trust (`AWS_CA_BUNDLE`).

use std::sync::Arc;

use rustls::pki_types::{
    CertificateDer, PrivateKeyDer, PrivatePkcs1KeyDer, PrivatePkcs8KeyDer, PrivateSec1KeyDer,
};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// A TLS server certificate chain and its private key, both PEM.
#[derive(Clone)]
pub struct TlsIdentity {
    /// The server certificate first, then any intermediates.
    pub cert_chain_pem: Vec<u8>,
    /// The private key: PKCS#8, PKCS#1 RSA or SEC1 EC.
    pub key_pem: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsIdentity")
            .field("cert_chain_pem", &self.cert_chain_pem.len())
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

/// The server configuration, and the throwaway CA's PEM when one was made.
pub(crate) struct ServerTls {
    pub(crate) config: Arc<rustls::ServerConfig>,
    pub(crate) ca_pem: Option<String>,
}

/// Builds the TLS server configuration from `identity`, or from a throwaway CA and certificate.
pub(crate) fn server_tls(identity: Option<&TlsIdentity>) -> Result<ServerTls> {
    let (chain, key, ca_pem) = match identity {
        Some(identity) => {
            let (chain, key) = parse_identity(identity)?;
            (chain, key, None)
        }
        None => {
            let (chain, key, ca_pem) = throwaway_identity()?;
            (chain, key, Some(ca_pem))
        }
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Internal(format!("TLS setup: {e}")))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| {
            Error::bad_input(
                "--tls-cert/--tls-key",
                format!("unusable TLS certificate or key: {e}"),
            )
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(ServerTls {
        config: Arc::new(config),
        ca_pem,
    })
}

fn parse_identity(
    identity: &TlsIdentity,
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)> {
    let certs = pem::parse_many(&identity.cert_chain_pem)
        .map_err(|e| Error::bad_input("--tls-cert", format!("malformed PEM: {e}")))?;
    let chain: Vec<CertificateDer<'static>> = certs
        .into_iter()
        .filter(|b| b.tag() == "CERTIFICATE")
        .map(|b| CertificateDer::from(b.into_contents()))
        .collect();
    if chain.is_empty() {
        return Err(Error::bad_input("--tls-cert", "no CERTIFICATE block"));
    }
    let blocks = pem::parse_many(identity.key_pem.as_slice())
        .map_err(|_| Error::bad_input("--tls-key", "malformed PEM"))?;
    let key = blocks
        .into_iter()
        .find_map(|b| {
            let tag = b.tag().to_string();
            let contents = b.into_contents();
            match tag.as_str() {
                "PRIVATE KEY" => Some(PrivateKeyDer::from(PrivatePkcs8KeyDer::from(contents))),
                "RSA PRIVATE KEY" => Some(PrivateKeyDer::from(PrivatePkcs1KeyDer::from(contents))),
                "EC PRIVATE KEY" => Some(PrivateKeyDer::from(PrivateSec1KeyDer::from(contents))),
                _ => {
                    let mut contents = contents;
                    zeroize::Zeroize::zeroize(&mut contents);
                    None
                }
            }
        })
        .ok_or_else(|| {
            Error::bad_input(
                "--tls-key",
                "no PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block",
            )
        })?;
    Ok((chain, key))
}

/// A P-256 CA and a server certificate for the loopback names, valid from an hour ago for 30 days.
fn throwaway_identity() -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>, String)> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose, SanType,
    };
    let fail =
        |e: rcgen::Error| Error::Internal(format!("making the throwaway TLS certificate: {e}"));
    let now = time::OffsetDateTime::now_utc();
    let (not_before, not_after) = (
        now - time::Duration::hours(1),
        now + time::Duration::days(30),
    );

    let ca_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(fail)?;
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = rcgen::DistinguishedName::new();
    ca_params.distinguished_name.push(
        DnType::CommonName,
        "rolesanywhere-helper local endpoint TLS CA",
    );
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params.not_before = not_before;
    ca_params.not_after = not_after;
    ca_params.serial_number = Some(random_serial()?);
    let ca_cert = ca_params.self_signed(&ca_key).map_err(fail)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(fail)?;
    let mut params = CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, "rolesanywhere-helper local endpoint");
    params.subject_alt_names = vec![
        SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()),
        SanType::IpAddress(std::net::Ipv6Addr::LOCALHOST.into()),
        SanType::DnsName("localhost".try_into().map_err(fail)?),
    ];
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    params.not_before = not_before;
    params.not_after = not_after;
    params.serial_number = Some(random_serial()?);
    let server_cert = params.signed_by(&server_key, &issuer).map_err(fail)?;

    let key = PrivateKeyDer::from(PrivatePkcs8KeyDer::from(server_key.serialize_der()));
    Ok((vec![server_cert.der().clone()], key, ca_cert.pem()))
}

/// A random positive 16-byte serial number.
fn random_serial() -> Result<rcgen::SerialNumber> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|_| Error::Internal("the random source failed".into()))?;
    bytes[0] = (bytes[0] & 0x7f) | 0x40;
    Ok(rcgen::SerialNumber::from_slice(&bytes))
}
