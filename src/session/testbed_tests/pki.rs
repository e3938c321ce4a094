//! The test bed's throwaway PKI against the helper's own certificate and key parsers: for every
//! key kind, the issued certificate parses, is valid now, and matches the generated key.

use rolesanywhere_testbed::pki::{Authority, CertSpec};
use time::OffsetDateTime;

use super::*;
use crate::certificate::Certificate;
use crate::key_source::{Signer, file};

#[test]
fn issues_leaves_whose_keys_match_for_every_key_kind() {
    let root = Authority::root("test root").unwrap();
    for kind in [
        KeyKind::EcP256,
        KeyKind::EcP384,
        KeyKind::EcP521,
        KeyKind::Rsa(2048),
    ] {
        let key = GeneratedKey::generate(kind).unwrap();
        let cert = root.issue(&CertSpec::leaf("leaf"), &key.spki_der).unwrap();
        let parsed = Certificate::from_der(&cert.der, "test").unwrap();
        let signer = file::parse(key.pkcs8_pem().as_bytes(), "test").unwrap();
        parsed
            .check_key_matches(signer.public_key(), "cert", "key")
            .unwrap();
        parsed
            .check_validity(OffsetDateTime::now_utc(), "cert")
            .unwrap();
    }
}
