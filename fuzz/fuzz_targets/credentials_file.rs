//! The shared credentials file rewrite (`update`): any file × any profile name and values. When
//! `update` would write (the name and values pass its checks, the file is UTF-8), the result
//! must read back, as the SDKs read INI files, with the new values in the profile, and keep
//! every other section's lines.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rolesanywhere_helper::credentials::Credentials;
use rolesanywhere_helper::output::credentials_file::{
    check_profile_name, check_values, set_profile,
};

const KEYS: [&str; 3] = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
];

/// An independent reader: `[section]` headers (trimmed), `#`/`;` comments, `key = value`
/// (key lower-cased), indented lines continuing the previous value; repeated sections merge
/// and a later value wins, as aws-sdk-rust reads them. Lines end at CR, LF or CRLF.
fn read_profile(text: &str, profile: &str) -> [Option<String>; 3] {
    let mut values: [Option<String>; 3] = [None, None, None];
    let mut in_profile = false;
    let mut last: Option<usize> = None;
    for line in text.split("\r\n").flat_map(|l| l.split(['\r', '\n'])) {
        let trimmed = line.trim();
        if let Some(name) = trimmed.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            in_profile = name.trim() == profile;
            last = None;
            continue;
        }
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if !in_profile {
            continue;
        }
        if line.starts_with(char::is_whitespace) {
            if let Some(index) = last {
                let value = values[index].get_or_insert_with(String::new);
                value.push('\n');
                value.push_str(trimmed);
            }
            continue;
        }
        last = None;
        if let Some((key, value)) = line.split_once('=') {
            let key = key.trim().to_ascii_lowercase();
            if let Some(index) = KEYS.iter().position(|k| *k == key) {
                values[index] = Some(value.trim().to_string());
                last = Some(index);
            }
        }
    }
    values
}

fuzz_target!(|data: &[u8]| {
    // profile \0 access key \0 secret \0 token \0 file
    let mut parts = data.splitn(5, |b| *b == 0);
    let mut next = || std::str::from_utf8(parts.next().unwrap_or(b"")).ok();
    let (Some(profile), Some(id), Some(secret), Some(token), Some(file)) =
        (next(), next(), next(), next(), next())
    else {
        return;
    };
    let credentials = Credentials {
        access_key_id: id.into(),
        secret_access_key: secret.into(),
        session_token: token.into(),
        expiration: time::OffsetDateTime::UNIX_EPOCH,
    };
    if check_profile_name(profile).is_err() || check_values(&credentials).is_err() {
        return;
    }
    let updated = set_profile(file, profile, &credentials);
    let read = read_profile(&updated, profile);
    for (index, expected) in [id, secret, token].iter().enumerate() {
        assert_eq!(
            read[index].as_deref(),
            Some(*expected),
            "{}: file {file:?} profile {profile:?} gave {:?}",
            KEYS[index],
            updated.as_str()
        );
    }
    // Running it again changes nothing.
    let again = set_profile(&updated, profile, &credentials);
    assert_eq!(
        again.as_str(),
        updated.as_str(),
        "file {file:?} profile {profile:?}"
    );
});
