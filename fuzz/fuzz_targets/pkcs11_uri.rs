//! PKCS#11 URIs (RFC 7512) as `--certificate` / `--private-key` take them. What parses, shown
//! without its PIN, parses back to the same URI.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rolesanywhere_helper::fuzzing::pkcs11_uri;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(shown) = pkcs11_uri(text) {
        match pkcs11_uri(&shown) {
            Ok(again) => assert_eq!(again, shown, "{text:?} shown as {shown:?}"),
            Err(e) => panic!("{text:?} is shown as {shown:?}, which does not parse: {e}"),
        }
    }
});
