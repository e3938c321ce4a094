//! Settings kept in a profile of `~/.aws/config` (`AWS_CONFIG_FILE` honoured) under keys of our
//! own, so that the `credential_process` line can be just `credential-process --profile NAME`.
//! They become command-line flags placed before the user's, so flags given by hand win.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// Our keys and the flags they stand for. Secrets (passwords, PINs) have no key: a config file
/// is not a secret store.
const KEYS: &[(&str, &str)] = &[
    ("rolesanywhere_certificate", "--certificate"),
    ("rolesanywhere_private_key", "--private-key"),
    ("rolesanywhere_intermediates", "--intermediates"),
    ("rolesanywhere_trust_anchor_arn", "--trust-anchor-arn"),
    ("rolesanywhere_profile_arn", "--profile-arn"),
    ("rolesanywhere_role_arn", "--role-arn"),
    ("rolesanywhere_session_duration", "--session-duration"),
    ("rolesanywhere_region", "--region"),
    ("rolesanywhere_endpoint", "--endpoint"),
    ("rolesanywhere_role_session_name", "--role-session-name"),
    ("rolesanywhere_pkcs11_lib", "--pkcs11-lib"),
    ("rolesanywhere_cache", "--cache"),
    ("rolesanywhere_cache_dir", "--cache-dir"),
    ("rolesanywhere_no_verify_ssl", "--no-verify-ssl"),
    ("rolesanywhere_assume_role_arn", "--assume-role-arn"),
    ("rolesanywhere_external_id", "--external-id"),
    (
        "rolesanywhere_assume_role_session_name",
        "--assume-role-session-name",
    ),
    ("rolesanywhere_session_tags", "--session-tag"),
    ("rolesanywhere_transitive_tag_keys", "--transitive-tag-key"),
    (
        "rolesanywhere_assume_role_duration",
        "--assume-role-duration",
    ),
    ("rolesanywhere_sts_endpoint", "--sts-endpoint"),
];

/// `AWS_CONFIG_FILE`, else `~/.aws/config`.
pub fn config_path() -> Result<PathBuf> {
    config_path_for("--profile")
}

fn config_path_for(flag: &str) -> Result<PathBuf> {
    crate::support::aws_files::aws_file("AWS_CONFIG_FILE", "config")
        .ok_or_else(|| Error::invalid_argument(flag, "HOME is not set; set AWS_CONFIG_FILE"))
}

/// The flags (`--name=value`) the profile `name` of the config file sets.
pub fn flags_for_profile(name: &str) -> Result<Vec<String>> {
    flags_for_profile_named_by(name, "--profile")
}

/// [`flags_for_profile`], for a profile named by `flag` (`update --config-profile`, where
/// `--profile` is the section of the credentials file to write).
pub fn flags_for_profile_named_by(name: &str, flag: &str) -> Result<Vec<String>> {
    let path = config_path_for(flag)?;
    let text = String::from_utf8(crate::support::input_file::read(&path, "AWS_CONFIG_FILE")?)
        .map_err(|_| {
            Error::bad_input(
                format!("AWS_CONFIG_FILE {}", path.display()),
                "is not UTF-8 text",
            )
        })?;
    let input = format!("{flag} {name} ({})", path.display());
    let settings = profile_settings(&text, name).ok_or_else(|| {
        Error::invalid_argument(flag, format!("no profile '{name}' in {}", path.display()))
    })?;
    let mut flags = Vec::new();
    for (key, value) in settings {
        if !key.starts_with("rolesanywhere_") {
            continue;
        }
        let Some((_, flag)) = KEYS.iter().find(|(k, _)| *k == key) else {
            let known: Vec<&str> = KEYS.iter().map(|(k, _)| *k).collect();
            return Err(Error::bad_input(
                &input,
                format!("unknown key {key}; the keys are {}", known.join(", ")),
            ));
        };
        flags.push(format!("{flag}={value}"));
    }
    if flags.is_empty() {
        return Err(Error::bad_input(&input, "sets no rolesanywhere_* key"));
    }
    Ok(flags)
}

/// The `key = value` pairs of `[profile NAME]` (or `[default]` / `[profile default]` for
/// `default`), in file order; `None` when there is no such section.
pub fn profile_settings(text: &str, name: &str) -> Option<Vec<(String, String)>> {
    let mut in_profile = false;
    let mut found = false;
    let mut settings = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let Some(section) = crate::support::aws_files::section_name(trimmed) {
            let section = section.split_whitespace().collect::<Vec<_>>();
            in_profile = match section.as_slice() {
                ["profile", profile] => *profile == name,
                ["default"] => name == "default",
                _ => false,
            };
            found |= in_profile;
            continue;
        }
        // Indented lines continue a nested setting (such as `s3 =`): not ours.
        if !in_profile || line.starts_with([' ', '\t']) {
            continue;
        }
        if let Some((key, value)) = trimmed.split_once('=') {
            settings.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    found.then_some(settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_named_profile_only() {
        let text = "[default]\nregion = us-east-1\n\n[profile edge]\n# comment\nrolesanywhere_role_arn = arn:aws:iam::1:role/x\ns3 =\n  max_concurrent_requests = 5\n[profile other]\nrolesanywhere_role_arn = no\n";
        let settings = profile_settings(text, "edge").unwrap();
        assert_eq!(
            settings[0],
            (
                "rolesanywhere_role_arn".to_string(),
                "arn:aws:iam::1:role/x".to_string()
            )
        );
        assert_eq!(settings.len(), 2);
        assert_eq!(
            profile_settings(text, "default").unwrap(),
            [("region".to_string(), "us-east-1".to_string())]
        );
        assert!(profile_settings(text, "missing").is_none());
    }
}
