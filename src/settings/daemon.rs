//! The settings of the long-running commands, `serve` and `update`.

use std::net::IpAddr;
use std::path::PathBuf;

use zeroize::Zeroizing;

use super::credentials::CredentialSettings;
use crate::error::{Error, Result};

/// `serve`'s settings.
pub struct ServeSettings {
    /// Where the credentials come from.
    pub credentials: CredentialSettings,
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
}

/// `update`'s settings.
pub struct UpdateSettings {
    /// Where the credentials come from.
    pub credentials: CredentialSettings,
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
