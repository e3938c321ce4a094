//! The settings of the long-running commands, `serve` and `update`.

use std::net::IpAddr;
use std::path::PathBuf;

use zeroize::Zeroizing;

use super::credentials::CredentialSettings;
use super::renewal::RenewalSettings;
use crate::error::{Error, Result};

/// `serve`'s settings.
pub struct ServeSettings {
    /// Where the credentials come from.
    pub credentials: CredentialSettings,
    /// `--renew-command` and its timing: the certificate renewed in the background.
    pub renewal: Option<RenewalSettings>,
    /// `--port`.
    pub port: u16,
    /// `--hop-limit`: the IP TTL of the answers.
    pub hop_limit: u32,
    /// `--bind`; empty: 127.0.0.1 and ::1.
    pub bind: Vec<IpAddr>,
    /// `--container-token`, checked by [`check_container_token`]; random when absent.
    pub container_token: Option<Zeroizing<String>>,
    /// `--container-token-file`.
    pub container_token_file: Option<PathBuf>,
    /// `--container-token-file-mode`, checked by [`token_file_mode`].
    pub container_token_file_mode: u32,
}

/// The default mode of `--container-token-file`: the service's user only.
pub const DEFAULT_TOKEN_FILE_MODE: &str = "0600";

/// `--container-token-file-mode`: an octal mode (`0640`, `640`) that gives others nothing (the
/// token guards the credentials; the group is how another user's client is let in).
pub fn token_file_mode(value: &str) -> Result<u32> {
    let bad = |why: &str| {
        Error::invalid_argument(
            "--container-token-file-mode",
            format!("'{value}' {why}; give an octal mode such as 0600 or 0640"),
        )
    };
    let digits = value.strip_prefix("0o").unwrap_or(value);
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b))
    {
        return Err(bad("is not an octal file mode"));
    }
    let mode = u32::from_str_radix(digits, 8).map_err(|_| bad("is not an octal file mode"))?;
    if mode > 0o777 {
        return Err(bad("has setuid, setgid or sticky bits"));
    }
    if mode & 0o007 != 0 {
        return Err(bad(
            "gives other users access to the token; give the clients' group access (0640) instead",
        ));
    }
    Ok(mode)
}

/// `update`'s settings.
pub struct UpdateSettings {
    /// Where the credentials come from.
    pub credentials: CredentialSettings,
    /// `--renew-command` and its timing: the certificate renewed in the background.
    pub renewal: Option<RenewalSettings>,
    /// `--profile`: the section of the shared credentials file to write.
    pub profile: String,
    /// `--once`: write once and exit.
    pub once: bool,
}

/// The shortest `--container-token`: it guards an endpoint that may face the network.
pub const MIN_CONTAINER_TOKEN_LEN: usize = 16;

/// Checks a container token given by flag or environment: printable ASCII without spaces, and
/// long enough to guard an endpoint that may face the network.
pub fn check_container_token(token: &str) -> Result<()> {
    if token.is_empty() || token.bytes().any(|b| !(0x21..0x7f).contains(&b)) {
        return Err(Error::invalid_argument(
            "--container-token",
            "must be printable ASCII without spaces",
        ));
    }
    if token.len() < MIN_CONTAINER_TOKEN_LEN {
        return Err(Error::invalid_argument(
            "--container-token",
            format!(
                "is {} characters long; it guards the container endpoint, so it must have at least {MIN_CONTAINER_TOKEN_LEN} (or leave it out for a random one)",
                token.len()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_file_modes_are_octal_and_never_open_to_others() {
        for (value, mode) in [
            ("0600", 0o600),
            ("640", 0o640),
            ("0o640", 0o640),
            ("0400", 0o400),
        ] {
            assert_eq!(token_file_mode(value).unwrap(), mode, "{value}");
        }
        for value in [
            "0644", "0604", "0601", "777", "640x", "9", "", "4640", "0x1a0", "-640", "00640",
        ] {
            let error = token_file_mode(value).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{value}");
            assert!(
                error
                    .to_string()
                    .starts_with("--container-token-file-mode: "),
                "{value}: {error}"
            );
        }
    }
}
