//! The test bed's throwaway PKI against the helper's own certificate and key parsers: for every
//! key kind, the issued certificate parses, is valid now, and matches the generated key.

use rolesanywhere_testbed::pki::{Authority, CertSpec};
use time::OffsetDateTime;

use super::*;
use crate::identity::Signer;
use crate::identity::certificate::Certificate;
use crate::identity::key_file as file;

#[test]
fn issues_leaves_whose_keys_match_for_every_key_kind() {
    let root = Authority::root("test root").unwrap();
    let root_der = root.cert_der();
    let (_, root_x509) = x509_parser::parse_x509_certificate(&root_der).unwrap();
    let mut failures = Vec::new();
    for kind in [
        KeyKind::EcP256,
        KeyKind::EcP384,
        KeyKind::EcP521,
        KeyKind::Rsa(2048),
    ] {
        let key = GeneratedKey::generate(kind).unwrap();
        let cert = root.issue(&CertSpec::leaf("leaf"), &key.spki_der).unwrap();
        let (_, x509) = x509_parser::parse_x509_certificate(&cert.der).unwrap();
        let parsed = Certificate::from_der(&cert.der, "test").unwrap();
        let signer = file::parse(key.pkcs8_pem().as_bytes(), "test").unwrap();
        let checks = [
            (
                "the certificate carries the generated key",
                x509.public_key().raw == &key.spki_der[..],
            ),
            (
                "the key file's public key matches the certificate",
                parsed
                    .check_key_matches(signer.public_key(), "cert", "key")
                    .is_ok(),
            ),
            ("issued by the root", x509.issuer() == root_x509.subject()),
            (
                "signed by the root's key",
                x509.verify_signature(Some(root_x509.public_key())).is_ok(),
            ),
            (
                "valid now",
                parsed
                    .check_validity(OffsetDateTime::now_utc(), "cert")
                    .is_ok(),
            ),
            (
                "the subject is the leaf's name",
                x509.subject().to_string().contains("CN=leaf"),
            ),
            (
                "the PEM is the DER",
                ::pem::parse(&cert.pem).map(|p| p.into_contents()).ok() == Some(cert.der.clone()),
            ),
        ];
        for (what, held) in checks {
            if !held {
                failures.push(format!("{kind:?}: {what}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "failing rows:\n{}",
        failures.join("\n")
    );
}
