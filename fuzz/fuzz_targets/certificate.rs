//! Certificate loading in every form: PEM (one or many blocks, with keys mixed in), DER, bundles.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rolesanywhere_helper::identity::certificate::parse_bundle;

fuzz_target!(|data: &[u8]| {
    if let Ok(certificates) = parse_bundle(data, "--certificate fuzz") {
        // Never empty: the leaf is the first.
        assert!(!certificates.is_empty());
        for certificate in &certificates {
            let _ = certificate.check_validity(time::OffsetDateTime::UNIX_EPOCH, "fuzz");
        }
    }
});
