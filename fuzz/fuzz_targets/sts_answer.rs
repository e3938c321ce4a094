//! STS answers (session/sts/answers.rs): GetCallerIdentity and AssumeRole results and error
//! documents, whatever the STS endpoint sends.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rolesanywhere_helper::session::sts::{parse_assume_role, parse_caller_identity, service_error};

fuzz_target!(|data: &[u8]| {
    if let Ok(identity) = parse_caller_identity(data) {
        assert!(identity.arn.starts_with("arn:"));
        assert!(!identity.account.is_empty() && !identity.user_id.is_empty());
    }
    if let Ok((credentials, user)) = parse_assume_role(data) {
        assert!(!credentials.access_key_id.is_empty() && !credentials.session_token.is_empty());
        assert!(!user.arn.is_empty() && !user.assumed_role_id.is_empty());
    }
    let status = data.first().map_or(400, |b| 400 + u16::from(*b));
    let _ = service_error(status, data, None);
});
