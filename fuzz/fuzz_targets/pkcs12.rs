//! PKCS#12 bundles (`.p12` / `.pfx`): the archive, its key and certificates, with the empty
//! password the seeds use. The archive's iteration counts are capped by p12-keystore itself
//! (1,000,000 for the MAC and each PBKDF2).
#![no_main]
use libfuzzer_sys::fuzz_target;
use rolesanywhere_helper::identity::pkcs12::{looks_like_pkcs12, open};

fuzz_target!(|data: &[u8]| {
    let _ = looks_like_pkcs12(data);
    if let Ok(contents) = open(data, "--certificate fuzz.p12", Some("")) {
        assert!(contents.leaf.public_key.is_ok());
    }
});
