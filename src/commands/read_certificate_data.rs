//! `read-certificate-data`: the certificate's key type, DER, serial and algorithms as JSON.

use crate::cli::ReadCertificateArgs;
use crate::error::{Error, Result};
use crate::identity;
use crate::settings::identity::IdentitySpec;

/// `read-certificate-data`: compact JSON with no trailing newline, fields in AWS's order.
pub fn run(args: &ReadCertificateArgs) -> Result<String> {
    if args.cert_selector.is_some() || args.system_store_name.is_some() {
        return Err(Error::invalid_argument(
            "--cert-selector",
            "certificate stores exist only on Windows and macOS; on Linux give --certificate",
        ));
    }
    let Some(path) = args.certificate.as_deref().filter(|p| !p.is_empty()) else {
        return Err(Error::invalid_argument(
            "--certificate",
            "is required; give the path of the certificate file",
        ));
    };
    let spec = IdentitySpec {
        certificate: Some(path.to_string()),
        pkcs11_lib: args.pkcs11_lib.clone().filter(|p| !p.is_empty()),
        ..IdentitySpec::default()
    };
    let cert = match identity::certificate_data(&spec)? {
        identity::CertificateData::TokenListing(listing) => return Ok(listing),
        identity::CertificateData::Leaf(cert) => cert,
    };
    use base64::Engine as _;
    let key_type = cert.public_key.as_ref().map(|k| k.key_type()).unwrap_or("");
    let algorithms = match &cert.public_key {
        Ok(key) => key.supported_algorithms(),
        // As AWS's helper for keys it does not know.
        Err(_) => ["SHA256", "SHA384", "SHA512"]
            .iter()
            .map(|d| d.to_string())
            .collect(),
    };
    // A struct, not a map: AWS's helper prints the fields in this order.
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct CertificateData {
        key_type: &'static str,
        certificate_data: String,
        serial_number: String,
        supported_algorithms: Vec<String>,
    }
    let document = CertificateData {
        key_type,
        certificate_data: base64::engine::general_purpose::STANDARD.encode(&cert.der),
        serial_number: cert.serial_decimal,
        supported_algorithms: algorithms,
    };
    serde_json::to_string(&document).map_err(|e| Error::Internal(format!("encoding JSON: {e}")))
}
