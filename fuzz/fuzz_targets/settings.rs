//! The request inputs a user types (ARNs, region, session duration, role session name), the
//! endpoint URL, serve's token settings and the config file's profile sections. Fields are
//! separated by newlines: trust anchor, profile, role, region, duration, session name, endpoint.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rolesanywhere_helper::settings::{arn, daemon, endpoint, profile, session};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut fields = text.split('\n');
    let mut next = || fields.next().unwrap_or("");
    let (anchor, profile_arn, role) = (next(), next(), next());
    let region = next();
    let duration = next().parse::<i64>().unwrap_or(3600);
    let name = next();
    let endpoint_url = next();
    let region = (!region.is_empty()).then_some(region);
    let name = (!name.is_empty()).then_some(name);
    if let Ok(inputs) = session::validate(anchor, profile_arn, role, region, duration, name) {
        assert!((900..=43200).contains(&inputs.duration_seconds));
        assert!(arn::is_region_name(&inputs.region));
        assert_eq!(
            arn::partition_of_region(&inputs.region),
            inputs.trust_anchor.partition
        );
    }
    let _ = session::validate_role_session_name(text);
    let _ = arn::is_known_region(text);
    let _ = endpoint::parse("--endpoint", endpoint_url);
    let _ = endpoint::parse("--endpoint", text);
    let _ = daemon::token_file_mode(text);
    let _ = daemon::check_container_token(text);
    let _ = profile::profile_settings(text, "default");
    let _ = profile::profile_settings(text, anchor);
});
