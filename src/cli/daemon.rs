//! The flags of the long-running commands, `serve` and `update`.

// clap turns doc comments into help text: the argument structs deliberately have none.
#![allow(missing_docs)]

use std::path::PathBuf;

use clap::Args;
use zeroize::Zeroizing;

use super::{CredentialArgs, RenewalArgs, secret};

#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    #[command(flatten)]
    pub credentials: CredentialArgs,
    #[command(flatten)]
    pub renewal: RenewalArgs,
    /// Port to listen on
    ///
    /// Port to listen on (default 9911), on 127.0.0.1 and ::1 (when the host has IPv6) unless --bind
    /// is given.
    #[arg(long, value_name = "PORT", default_value_t = 9911)]
    pub port: u16,
    /// IP TTL (hop limit) of the answers, as on EC2
    #[arg(long, value_name = "HOPS", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=255))]
    pub hop_limit: u32,
    /// Address to listen on (repeat for several; default 127.0.0.1 and ::1). A non-loopback
    /// address serves only the token-authenticated container endpoint
    ///
    /// Address to listen on, repeatable; replaces the default 127.0.0.1 and ::1. On a non-loopback
    /// address only the token-authenticated container endpoint answers (IMDS paths get 403 there),
    /// since IMDS has no authentication of its own.
    #[arg(long = "bind", value_name = "IP")]
    pub bind: Vec<std::net::IpAddr>,
    /// Token clients must send in Authorization to the container endpoint (default: random)
    ///
    /// The token clients must send as `Authorization: <token>` to GET /v1/credentials (no token: 401,
    /// a wrong one: 403, compared in constant time). Default: random for each start. Clients running
    /// as another user need the token given to both sides, for example the same value in a root-owned
    /// environment file.
    #[arg(
        long,
        value_name = "TOKEN",
        env = "ROLESANYWHERE_HELPER_CONTAINER_TOKEN",
        hide_env_values = true,
        value_parser = secret
    )]
    pub container_token: Option<Zeroizing<String>>,
    /// Write the container endpoint's token here (mode 0600, no trailing newline)
    ///
    /// Writes the container endpoint's token here (mode --container-token-file-mode, default 0600; no
    /// trailing newline), for clients' AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE.
    #[arg(long, value_name = "PATH")]
    pub container_token_file: Option<PathBuf>,
    /// Mode of --container-token-file, in octal (default 0600); 0640 lets the unit's group read it
    ///
    /// The mode of --container-token-file, in octal: 0600 (the default) lets only the service's user
    /// read the token; 0640 lets its group read it too, so that a client running as another user in
    /// that group (systemd's Group=, or SupplementaryGroups= on the client's unit) can use
    /// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE. A mode that gives other users any access is refused.
    /// A missing directory for the file is created 0750 when the group may read the file, else 0700.
    #[arg(long, value_name = "MODE", default_value = crate::settings::daemon::DEFAULT_TOKEN_FILE_MODE)]
    pub container_token_file_mode: String,
    /// Read the settings from this profile of ~/.aws/config (AWS_CONFIG_FILE), as
    /// credential-process --profile does; flags given here win
    ///
    /// Read the settings from this profile of ~/.aws/config (AWS_CONFIG_FILE honoured), with the
    /// same rolesanywhere_* keys as credential-process --profile; flags given on the command line
    /// win. (On update, which writes a profile of the credentials file with --profile, this is
    /// --config-profile.)
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub credentials: CredentialArgs,
    #[command(flatten)]
    pub renewal: RenewalArgs,
    /// Profile (section) of the shared credentials file to write (not of ~/.aws/config: see
    /// --config-profile)
    ///
    /// The section of AWS_SHARED_CREDENTIALS_FILE (else ~/.aws/credentials) to write
    /// aws_access_key_id, aws_secret_access_key and aws_session_token into, as AWS's helper's
    /// update --profile does. It is not where update's own settings come from: that is
    /// --config-profile (the --profile of credential-process and serve). Every other section, key,
    /// comment and blank line is kept byte for byte; each write is locked (flock on <file>.lock) and
    /// atomic (a new 0600 file, fsynced, renamed over the old one). A missing ~/.aws is created 0700.
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub profile: String,
    /// Write the credentials once and exit
    ///
    /// Write the credentials once and exit; on failure, exit with the error's code. Without it,
    /// update keeps the profile current (refresh between 50% and 70% of the lifetime, at the latest
    /// 20 minutes before expiry) and retries failures instead of exiting.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub once: Option<bool>,
    /// Read the settings from this profile of ~/.aws/config (AWS_CONFIG_FILE), as
    /// credential-process --profile does; flags given here win
    ///
    /// Read update's settings (certificate, key, ARNs, endpoint, …) from this profile of
    /// ~/.aws/config (AWS_CONFIG_FILE honoured), with the same rolesanywhere_* keys as
    /// credential-process --profile; flags given on the command line win. Named --config-profile
    /// because update's --profile (Go-compatible) is the section of the credentials file it writes;
    /// the two may name the same profile.
    #[arg(long, value_name = "NAME")]
    pub config_profile: Option<String>,
}
