//! Private key files: PKCS#8 (plain and encrypted: KDF work capped under the `fuzzing` feature),
//! PKCS#1, SEC1, in PEM or DER, and PEM files that also hold certificates.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rolesanywhere_helper::identity::Signer;
use rolesanywhere_helper::identity::key_file::{holds_private_key, parse_with_password};
use rolesanywhere_helper::identity::secret_prompt::PasswordSource;

fuzz_target!(|data: &[u8]| {
    let _ = holds_private_key(data);
    // The seeds' encrypted keys use the password "fuzz".
    if let Ok(key) = parse_with_password(data, "--private-key fuzz", PasswordSource::Given("fuzz"))
    {
        let _ = key.public_key();
    }
});
