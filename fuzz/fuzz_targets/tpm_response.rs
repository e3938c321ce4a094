//! What a TPM (or a swtpm socket, another program) answers: read over a byte stream, then
//! decoded as every command the helper sends would decode it.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    rolesanywhere_helper::fuzzing::tpm_response(data);
});
