//! The settings of the long-running commands, `serve` and `update`.

use std::net::IpAddr;
use std::path::PathBuf;

use zeroize::Zeroizing;

use super::credentials::CredentialSettings;

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
    /// `--container-token`; random when absent.
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
