//! The command line, flag-compatible with `aws_signing_helper` 1.8 (DESIGN §3).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};


#[derive(Debug, Parser)]
#[command(
    name = "rolesanywhere-helper",
    about = "Short-lived AWS credentials from an X.509 certificate through IAM Roles Anywhere",
    disable_version_flag = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Retrieve AWS credentials in the format of the credential_process setting
    CredentialProcess(CredentialArgs),
    /// Sign a fixed test string with the private key, to check the key works
    SignString(SignStringArgs),
    /// Print the certificate's data as JSON (key type, DER, serial, algorithms)
    ReadCertificateData(ReadCertificateArgs),
    /// Print the version
    Version,
    /// Print a shell completion script
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Where the certificate and key come from (shared by every command that signs).
#[derive(Debug, Args, Clone, Default)]
pub struct KeyArgs {
    /// Path to the certificate (PEM or DER); may also hold the private key
    #[arg(long, value_name = "PATH")]
    pub certificate: Option<String>,
    /// Path to the private key (PKCS#8, PKCS#1 or SEC1; PEM or DER)
    #[arg(long, value_name = "PATH")]
    pub private_key: Option<String>,
    /// PKCS#11 module to load (for pkcs11: URIs)
    #[arg(long, value_name = "PATH")]
    pub pkcs11_lib: Option<String>,
    /// Reuse the PIN for keys that need a login before each signature
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub reuse_pin: Option<bool>,
    /// Password of a TPM key
    #[arg(long, value_name = "PASSWORD")]
    pub tpm_key_password: Option<String>,
    /// The TPM key has no password
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub no_tpm_key_password: Option<bool>,
    /// Password of an encrypted PKCS#8 key
    #[arg(long, value_name = "PASSWORD")]
    pub pkcs8_password: Option<String>,
    /// Certificate store selector (Windows and macOS stores only)
    #[arg(long, value_name = "SELECTOR")]
    pub cert_selector: Option<String>,
    /// Certificate store name (Windows only)
    #[arg(long, value_name = "NAME")]
    pub system_store_name: Option<String>,
    /// Use the certificate that expires last (certificate stores only)
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub use_latest_expiring_certificate: Option<bool>,
    /// Print debug traces on stderr (never secrets)
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub debug: Option<bool>,
}

#[derive(Debug, Args, Clone)]
pub struct CredentialArgs {
    #[command(flatten)]
    pub key: KeyArgs,
    /// Path to the intermediate certificates (PEM bundle), sent in file order
    #[arg(long, value_name = "PATH")]
    pub intermediates: Option<PathBuf>,
    /// ARN of the trust anchor
    #[arg(long, value_name = "ARN", default_value = "")]
    pub trust_anchor_arn: String,
    /// ARN of the profile
    #[arg(long, value_name = "ARN", default_value = "")]
    pub profile_arn: String,
    /// ARN of the role to assume
    #[arg(long, value_name = "ARN", default_value = "")]
    pub role_arn: String,
    /// Session duration in seconds (900 to 43200)
    #[arg(long, value_name = "SECONDS", default_value_t = 3600, allow_negative_numbers = true)]
    pub session_duration: i64,
    /// Region of the endpoint (default: the trust anchor's)
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Endpoint URL; wins over AWS_ENDPOINT_URL_ROLESANYWHERE
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Do not verify the endpoint's TLS certificate (never in production)
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub no_verify_ssl: Option<bool>,
    /// Accepted for compatibility: HTTPS_PROXY / NO_PROXY are always honoured
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub with_proxy: Option<bool>,
    /// Role session name (2 to 64 of [A-Za-z0-9_+=,.@-]); the profile must allow it
    #[arg(long, value_name = "NAME")]
    pub role_session_name: Option<String>,
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
