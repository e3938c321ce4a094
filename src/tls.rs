//! The TLS client configuration for CreateSession: rustls with the system trust store
//! (`SSL_CERT_FILE`/`SSL_CERT_DIR` honoured) plus `AWS_CA_BUNDLE`, or no verification at all
//! with `--no-verify-ssl`.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::{Error, Result};

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
    let config = if no_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider())))
            .with_no_client_auth()
    } else {
        builder
            .with_root_certificates(root_store(extra_ca_bundle)?)
            .with_no_client_auth()
    };
    Ok(config)
}

fn root_store(extra_ca_bundle: Option<&std::path::Path>) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    // Unreadable individual system certificates are skipped, as every TLS stack does.
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some(path) = extra_ca_bundle {
        let bytes = crate::input_file::read(path, "AWS_CA_BUNDLE")?;
        let input = format!("AWS_CA_BUNDLE {}", path.display());
        for cert in crate::certificate::parse_bundle(&bytes, &input)? {
            roots
                .add(CertificateDer::from(cert.der))
                .map_err(|e| Error::bad_input(&input, format!("unusable CA certificate: {e}")))?;
        }
    }
    if roots.is_empty() {
        return Err(Error::bad_input(
            "system trust store",
            "no CA certificates found; install ca-certificates or set AWS_CA_BUNDLE / SSL_CERT_FILE",
        ));
    }
    Ok(roots)
}

/// `--no-verify-ssl`: accepts any server certificate, but still checks the handshake signatures
/// so the connection is at least consistent.
#[derive(Debug)]
struct NoVerification(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
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
            &self.0.signature_verification_algorithms,
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
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
