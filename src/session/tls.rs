//! The TLS client configuration for CreateSession and STS: rustls with the system trust store
//! (`SSL_CERT_FILE`/`SSL_CERT_DIR` honoured) plus `AWS_CA_BUNDLE`, or no verification at all
//! with `--no-verify-ssl`; and the HTTP client over it.

use std::sync::{Arc, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{Error, Result};
use crate::settings::client::RetryPolicy;
use crate::settings::endpoint::Endpoint;

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the client configuration. `extra_ca_bundle` is `AWS_CA_BUNDLE`'s path, if set.
pub fn client_config(
    no_verify: bool,
    extra_ca_bundle: Option<&std::path::Path>,
) -> Result<ClientConfig> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| Error::Internal(format!("TLS setup: {e}")))?;
    let trust = if no_verify {
        Trust::Anything
    } else {
        let bundle = match extra_ca_bundle {
            Some(path) => Some(webpki_verifier(bundle_roots(path)?)?),
            None => None,
        };
        Trust::BundleThenSystem {
            bundle,
            system: OnceLock::new(),
        }
    };
    let verifier = Arc::new(ServerVerifier {
        trust,
        provider: provider(),
    });
    Ok(builder
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

fn webpki_verifier(roots: RootCertStore) -> Result<Arc<WebPkiServerVerifier>> {
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
        .build()
        .map_err(|e| Error::Internal(format!("TLS verifier: {e}")))
}

fn bundle_roots(path: &std::path::Path) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    let bytes = crate::support::input_file::read(path, "AWS_CA_BUNDLE")?;
    let input = format!("AWS_CA_BUNDLE {}", path.display());
    for cert in crate::identity::certificate::parse_bundle(&bytes, &input)? {
        roots
            .add(CertificateDer::from(cert.der))
            .map_err(|e| Error::bad_input(&input, format!("unusable CA certificate: {e}")))?;
    }
    Ok(roots)
}

/// The system trust store (`SSL_CERT_FILE` / `SSL_CERT_DIR` honoured).
fn system_roots() -> std::result::Result<RootCertStore, String> {
    let mut roots = RootCertStore::empty();
    // Unreadable individual system certificates are skipped, as every TLS stack does.
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if roots.is_empty() {
        return Err("no CA certificates in the system trust store; install ca-certificates or set AWS_CA_BUNDLE / SSL_CERT_FILE".into());
    }
    Ok(roots)
}

/// Which server certificates are trusted.
#[derive(Debug)]
enum Trust {
    /// `--no-verify-ssl`: any certificate (the handshake signatures are still checked).
    Anything,
    /// The `AWS_CA_BUNDLE` CAs, then the system store. The system store (hundreds of files on
    /// Debian, several milliseconds to load) is read only when the bundle does not verify the
    /// server, so a helper talking to an endpoint of its own CA never pays for it.
    BundleThenSystem {
        bundle: Option<Arc<WebPkiServerVerifier>>,
        system: OnceLock<std::result::Result<Arc<WebPkiServerVerifier>, String>>,
    },
}

#[derive(Debug)]
struct ServerVerifier {
    trust: Trust,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl ServerCertVerifier for ServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let Trust::BundleThenSystem { bundle, system } = &self.trust else {
            return Ok(ServerCertVerified::assertion());
        };
        if let Some(bundle) = bundle {
            match bundle.verify_server_cert(end_entity, intermediates, server_name, ocsp, now) {
                Ok(verified) => return Ok(verified),
                // Not issued under the bundle's CAs: perhaps under the system's.
                Err(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)) => {
                }
                Err(other) => return Err(other),
            }
        }
        let system = system.get_or_init(|| {
            system_roots().and_then(|roots| webpki_verifier(roots).map_err(|e| e.to_string()))
        });
        match system {
            Ok(verifier) => {
                verifier.verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
            }
            Err(why) => Err(rustls::Error::General(why.clone())),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
/// The HTTP client for one endpoint, CreateSession's or STS's: `tls`, one attempt's timeout,
/// HTTP/1.1, one idle connection; a loopback endpoint never goes through a proxy, others follow
/// HTTPS_PROXY / NO_PROXY.
pub(crate) fn http_client(
    tls: rustls::ClientConfig,
    endpoint: &Endpoint,
    retry: &RetryPolicy,
) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .user_agent(super::USER_AGENT)
        .connect_timeout(retry.attempt_timeout)
        .timeout(retry.attempt_timeout)
        .http1_only()
        .pool_max_idle_per_host(1);
    if endpoint.is_loopback {
        builder = builder.no_proxy();
    }
    builder
        .build()
        .map_err(|e| Error::Internal(format!("HTTP client setup: {e}")))
}
