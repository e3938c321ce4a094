//! The cross-process cache file (credentials/cache.rs), as another process (or a user) left it.
//! Only an entry that could have come from a CreateSession answer, for this key, with a life
//! between the minimum kept and the longest session, is ever served.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rolesanywhere_helper::credentials::cache::{MAXIMUM_REMAINING, MINIMUM_REMAINING};
use rolesanywhere_helper::session::answer::check_values;

const NAME: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

fuzz_target!(|data: &[u8]| {
    let now = time::macros::datetime!(2026-12-04 12:00:00 UTC);
    if let Ok(Some(credentials)) = rolesanywhere_helper::fuzzing::cache_entry(data, NAME, now) {
        let remaining = credentials.expiration - now;
        assert!(remaining >= MINIMUM_REMAINING && remaining <= MAXIMUM_REMAINING);
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
