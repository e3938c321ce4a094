//! TPM key files (`TSS2 PRIVATE KEY`, PEM or DER) up to where the TPM would be asked to load them.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = rolesanywhere_helper::fuzzing::tpm_key_file(data);
});
