//! The CreateSession answer (session/answer.rs): whatever the endpoint sends. What is accepted
//! passes the credential value checks every output relies on.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rolesanywhere_helper::session::answer::{check_values, parse_create_session};

fuzz_target!(|data: &[u8]| {
    if let Ok((credentials, _info)) = parse_create_session(data) {
        assert!(
            check_values(
                &credentials.access_key_id,
                &credentials.secret_access_key,
                &credentials.session_token
            )
            .is_ok()
        );
    }
});
