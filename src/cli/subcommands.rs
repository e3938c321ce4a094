//! The flags of the one-shot commands: credential-process, sign-string, read-certificate-data,
//! export, exec and doctor.

// clap turns doc comments into help text: the argument structs deliberately have none.
#![allow(missing_docs)]

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{CredentialArgs, KeyArgs, RenewalArgs};

#[derive(Debug, Args, Clone)]
pub struct CredentialProcessArgs {
    #[command(flatten)]
    pub credentials: CredentialArgs,
    /// Read the settings from this profile of ~/.aws/config (AWS_CONFIG_FILE): keys
    /// rolesanywhere_certificate, rolesanywhere_trust_anchor_arn, …; flags given here win
    ///
    /// Read the settings from this profile of ~/.aws/config (AWS_CONFIG_FILE honoured); flags given
    /// on the command line win. Keys: rolesanywhere_certificate, rolesanywhere_private_key,
    /// rolesanywhere_intermediates, rolesanywhere_trust_anchor_arn, rolesanywhere_profile_arn,
    /// rolesanywhere_role_arn, rolesanywhere_session_duration, rolesanywhere_region,
    /// rolesanywhere_endpoint, rolesanywhere_role_session_name, rolesanywhere_pkcs11_lib,
    /// rolesanywhere_cache, rolesanywhere_cache_dir, rolesanywhere_no_verify_ssl; for role chaining
    /// rolesanywhere_assume_role_arn, rolesanywhere_external_id,
    /// rolesanywhere_assume_role_session_name, rolesanywhere_session_tags (KEY=VALUE,KEY=VALUE),
    /// rolesanywhere_transitive_tag_keys, rolesanywhere_assume_role_duration,
    /// rolesanywhere_sts_endpoint. Passwords and PINs
    /// have no key (a config file is not a secret store). A mistyped rolesanywhere_ key is an error
    /// that lists the valid ones.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum SignStringFormat {
    #[default]
    Json,
    Text,
    Bin,
}

#[derive(Debug, Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum DigestName {
    #[default]
    #[value(name = "SHA256")]
    Sha256,
    #[value(name = "SHA384")]
    Sha384,
    #[value(name = "SHA512")]
    Sha512,
}

#[derive(Debug, Args, Clone)]
pub struct SignStringArgs {
    #[command(flatten)]
    pub key: KeyArgs,
    /// Output format: json (a quoted hex string), text (hex) or bin (raw bytes)
    #[arg(long, value_enum, default_value = "json")]
    pub format: SignStringFormat,
    /// Digest to sign with
    #[arg(long, value_enum, default_value = "SHA256")]
    pub digest: DigestName,
}

#[derive(Debug, Args, Clone)]
pub struct ReadCertificateArgs {
    /// Path to the certificate (PEM or DER)
    ///
    /// With a `pkcs11:` URI, lists the matching certificates with their SHA-1 fingerprint, subject,
    /// issuer, serial and full URI.
    #[arg(long, value_name = "PATH")]
    pub certificate: Option<String>,
    /// Certificate store selector (Windows and macOS stores only)
    #[arg(long, value_name = "SELECTOR")]
    pub cert_selector: Option<String>,
    /// Certificate store name (Windows only)
    #[arg(long, value_name = "NAME")]
    pub system_store_name: Option<String>,
    /// PKCS#11 module to load (for pkcs11: URIs)
    #[arg(long, value_name = "PATH")]
    pub pkcs11_lib: Option<String>,
    /// Print debug traces on stderr
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub debug: Option<bool>,
}

/// The formats of `export`.
#[derive(Debug, Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum ExportFormat {
    /// `export NAME='value'` lines for POSIX shells
    #[default]
    Env,
    /// `NAME='value'` lines (for `.env` files and `env` prefixes)
    EnvNoExport,
    /// `$Env:NAME="value"` lines
    Powershell,
    /// `set -gx NAME 'value'` lines
    Fish,
    /// The credential_process JSON document
    Json,
    /// A profile section for the shared credentials file
    Ini,
}

#[derive(Debug, Args, Clone)]
pub struct ExportArgs {
    #[command(flatten)]
    pub credentials: CredentialArgs,
    /// Read the settings from this profile of ~/.aws/config (as credential-process --profile)
    ///
    /// Read the settings from this profile of ~/.aws/config (AWS_CONFIG_FILE honoured); flags given
    /// on the command line win. Keys: rolesanywhere_certificate, rolesanywhere_private_key,
    /// rolesanywhere_intermediates, rolesanywhere_trust_anchor_arn, rolesanywhere_profile_arn,
    /// rolesanywhere_role_arn, rolesanywhere_session_duration, rolesanywhere_region,
    /// rolesanywhere_endpoint, rolesanywhere_role_session_name, rolesanywhere_pkcs11_lib,
    /// rolesanywhere_cache, rolesanywhere_cache_dir, rolesanywhere_no_verify_ssl; for role chaining
    /// rolesanywhere_assume_role_arn, rolesanywhere_external_id,
    /// rolesanywhere_assume_role_session_name, rolesanywhere_session_tags (KEY=VALUE,KEY=VALUE),
    /// rolesanywhere_transitive_tag_keys, rolesanywhere_assume_role_duration,
    /// rolesanywhere_sts_endpoint. Passwords and PINs
    /// have no key (a config file is not a secret store). A mistyped rolesanywhere_ key is an error
    /// that lists the valid ones.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Output format
    ///
    /// env: `export AWS_ACCESS_KEY_ID=…` lines; env-no-export: the same without `export`; powershell;
    /// fish; json: the credential_process document; ini: a profile section for ~/.aws/credentials,
    /// named by --ini-profile.
    #[arg(long, value_enum, default_value = "env")]
    pub format: ExportFormat,
    /// The section name of the ini format
    #[arg(long = "ini-profile", value_name = "NAME", default_value = "default")]
    pub ini_profile: String,
}

#[derive(Debug, Args, Clone)]
pub struct ExecArgs {
    #[command(flatten)]
    pub credentials: CredentialArgs,
    /// Read the settings from this profile of ~/.aws/config (as credential-process --profile)
    ///
    /// Read the settings from this profile of ~/.aws/config (AWS_CONFIG_FILE honoured); flags given
    /// on the command line win. Keys: rolesanywhere_certificate, rolesanywhere_private_key,
    /// rolesanywhere_intermediates, rolesanywhere_trust_anchor_arn, rolesanywhere_profile_arn,
    /// rolesanywhere_role_arn, rolesanywhere_session_duration, rolesanywhere_region,
    /// rolesanywhere_endpoint, rolesanywhere_role_session_name, rolesanywhere_pkcs11_lib,
    /// rolesanywhere_cache, rolesanywhere_cache_dir, rolesanywhere_no_verify_ssl; for role chaining
    /// rolesanywhere_assume_role_arn, rolesanywhere_external_id,
    /// rolesanywhere_assume_role_session_name, rolesanywhere_session_tags (KEY=VALUE,KEY=VALUE),
    /// rolesanywhere_transitive_tag_keys, rolesanywhere_assume_role_duration,
    /// rolesanywhere_sts_endpoint. Passwords and PINs
    /// have no key (a config file is not a secret store). A mistyped rolesanywhere_ key is an error
    /// that lists the valid ones.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// The command and its arguments, after `--`
    ///
    /// Runs the command with AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
    /// AWS_CREDENTIAL_EXPIRATION, AWS_REGION and AWS_DEFAULT_REGION set and AWS_PROFILE unset;
    /// forwards SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to it; exits with its exit code
    /// (128 + the signal when it was killed).
    /// The command's arguments are passed on byte for byte, UTF-8 or not.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args, Clone)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub credentials: CredentialArgs,
    // The renewal flags serve and update are given: doctor checks them and says when the
    // certificate is due, or warns when it expires within 30 days and none are given.
    #[command(flatten)]
    pub renewal: RenewalArgs,
    /// Read the settings from this profile of ~/.aws/config (as credential-process --profile)
    ///
    /// Read the settings from this profile of ~/.aws/config (AWS_CONFIG_FILE honoured); flags given
    /// on the command line win. Keys: rolesanywhere_certificate, rolesanywhere_private_key,
    /// rolesanywhere_intermediates, rolesanywhere_trust_anchor_arn, rolesanywhere_profile_arn,
    /// rolesanywhere_role_arn, rolesanywhere_session_duration, rolesanywhere_region,
    /// rolesanywhere_endpoint, rolesanywhere_role_session_name, rolesanywhere_pkcs11_lib,
    /// rolesanywhere_cache, rolesanywhere_cache_dir, rolesanywhere_no_verify_ssl; for role chaining
    /// rolesanywhere_assume_role_arn, rolesanywhere_external_id,
    /// rolesanywhere_assume_role_session_name, rolesanywhere_session_tags (KEY=VALUE,KEY=VALUE),
    /// rolesanywhere_transitive_tag_keys, rolesanywhere_assume_role_duration,
    /// rolesanywhere_sts_endpoint. Passwords and PINs
    /// have no key (a config file is not a secret store). A mistyped rolesanywhere_ key is an error
    /// that lists the valid ones.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// The trust anchor's CA certificates (PEM), to check that the certificate chains to them
    ///
    /// The trust anchor's CA certificates (PEM). With it, doctor checks the path from the leaf
    /// through --intermediates to the anchor, at most 5 certificates.
    #[arg(long, value_name = "PATH")]
    pub trust_anchor_ca: Option<PathBuf>,
    /// Do not call CreateSession
    ///
    /// Do not call CreateSession: skip the last check (the others, endpoint and clock included, still
    /// run).
    #[arg(long)]
    pub no_create_session: bool,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
}
