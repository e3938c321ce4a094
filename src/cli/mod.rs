//! The command line, flag-compatible with `aws_signing_helper` 1.8: clap definitions only.

// clap turns doc comments into help text: every flag is documented by its help, and the
// argument structs deliberately have none (clap would make it the about text of every command
// that flattens them).
#![allow(missing_docs)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "rolesanywhere-helper",
    about = "Short-lived AWS credentials from an X.509 certificate through IAM Roles Anywhere",
    disable_version_flag = true,
    // As Go's pflag: a flag given twice takes the last value.
    args_override_self = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
// Each subcommand's flags are built only when it runs (or for help and completions): building all
// of them was most of a credential-process run's heap and an eighth of its instructions.
#[command(defer = true)]
pub enum Command {
    /// Retrieve AWS credentials in the format of the credential_process setting
    CredentialProcess(CredentialProcessArgs),
    /// Sign a fixed test string with the private key, to check the key works
    SignString(SignStringArgs),
    /// Print the certificate's data as JSON (key type, DER, serial, algorithms)
    ReadCertificateData(ReadCertificateArgs),
    /// Print the credentials as shell, PowerShell, fish, JSON or ini text (like the AWS CLI's
    /// `configure export-credentials`)
    Export(ExportArgs),
    /// Run a command with the credentials and the region in its environment
    Exec(ExecArgs),
    /// Check a setup step by step and say what is wrong (same flags as credential-process)
    Doctor(DoctorArgs),
    /// Print the version
    Version,
    /// Print a shell completion script
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Serve always-fresh credentials over IMDSv2 and a container-credentials endpoint
    Serve(ServeArgs),
    /// Keep a profile of the shared credentials file current
    Update(UpdateArgs),
    /// Run a local Roles Anywhere endpoint that verifies CreateSession requests (tests, CI)
    LocalEndpoint(LocalEndpointArgs),
    /// Try it with no AWS account: throwaway CA, local endpoint, credential-process against it
    Demo(DemoArgs),
}

#[derive(Debug, Args, Clone)]
pub struct LocalEndpointArgs {
    /// PEM bundle of the trust anchor's CA certificates
    #[arg(long, value_name = "PATH")]
    pub ca_bundle: PathBuf,
    /// ARN of the trust anchor the endpoint serves
    #[arg(long, value_name = "ARN")]
    pub trust_anchor_arn: String,
    /// ARN of the profile the endpoint serves
    #[arg(long, value_name = "ARN")]
    pub profile_arn: String,
    /// ARN of a role the profile allows (repeat for several)
    #[arg(long = "role-arn", value_name = "ARN", required = true)]
    pub role_arns: Vec<String>,
    /// Loopback address to listen on (port 0: any free port)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,
    /// TLS server certificate chain (PEM); default: a throwaway one
    #[arg(long, value_name = "PATH")]
    pub tls_cert: Option<PathBuf>,
    /// TLS server private key (PEM)
    #[arg(long, value_name = "PATH")]
    pub tls_key: Option<PathBuf>,
    /// Write the throwaway TLS CA certificate here (for AWS_CA_BUNDLE)
    #[arg(long, value_name = "PATH")]
    pub write_tls_ca: Option<PathBuf>,
    /// Write the endpoint URL here, atomically, once it is listening
    #[arg(long, value_name = "PATH")]
    pub ready_file: Option<PathBuf>,
    /// Append one JSON verification record per request here (never secrets)
    #[arg(long, value_name = "PATH")]
    pub request_log: Option<PathBuf>,
    /// Fail the next N requests with --fail-status
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub fail_next: u32,
    /// Status of injected failures (503: ServiceUnavailableException, 429: ThrottlingException)
    #[arg(long, value_name = "CODE", default_value_t = 503, value_parser = clap::value_parser!(u16).range(400..=599))]
    pub fail_status: u16,
    /// Close the connection without answering for the next N requests
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub drop_next: u32,
    /// Delay every answer by this many milliseconds
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub delay_ms: u64,
    /// Largest accepted difference between X-Amz-Date and the endpoint's clock
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub max_clock_skew: u64,
    /// Run the endpoint's clock this many seconds off the system clock
    #[arg(
        long,
        value_name = "SECS",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub clock_offset: i64,
    /// Print a line per request on stderr
    #[arg(long)]
    pub debug: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum, Default, PartialEq, Eq)]
pub enum DemoKeyType {
    #[default]
    #[value(name = "ec-p256")]
    EcP256,
    #[value(name = "ec-p384")]
    EcP384,
    #[value(name = "rsa-2048")]
    Rsa2048,
}

#[derive(Debug, Args, Clone)]
pub struct DemoArgs {
    /// Key type of the demo client certificate
    #[arg(long, value_enum, default_value = "ec-p256")]
    pub key_type: DemoKeyType,
}

// Where the certificate and key come from (shared by every command that signs). A comment, not a
// doc comment: clap would make it the about text of every command that flattens these flags.
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
    /// Password of an encrypted PKCS#8 key (default: asked on the terminal)
    #[arg(long, value_name = "PASSWORD")]
    pub pkcs8_password: Option<String>,
    /// Password of a PKCS#12 (.p12/.pfx) --certificate (default: empty, then asked on the terminal)
    #[arg(long, value_name = "PASSWORD")]
    pub pkcs12_password: Option<String>,
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
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = crate::settings::credentials::DEFAULT_SESSION_DURATION,
        allow_negative_numbers = true
    )]
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
    /// Reuse credentials across runs (credential-process, export, exec) until 20 minutes before
    /// they expire; also ROLESANYWHERE_HELPER_CACHE=1
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub cache: Option<bool>,
    /// Where the cache lives (default: $XDG_RUNTIME_DIR/rolesanywhere-helper, else
    /// ~/.cache/rolesanywhere-helper)
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    #[command(flatten)]
    pub credentials: CredentialArgs,
    /// Port to listen on
    #[arg(long, value_name = "PORT", default_value_t = 9911)]
    pub port: u16,
    /// IP TTL (hop limit) of the answers, as on EC2
    #[arg(long, value_name = "HOPS", default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=255))]
    pub hop_limit: u32,
    /// Address to listen on (repeat for several; default 127.0.0.1 and ::1). A non-loopback
    /// address serves only the token-authenticated container endpoint
    #[arg(long = "bind", value_name = "IP")]
    pub bind: Vec<std::net::IpAddr>,
    /// Token clients must send in Authorization to the container endpoint (default: random)
    #[arg(
        long,
        value_name = "TOKEN",
        env = "ROLESANYWHERE_HELPER_CONTAINER_TOKEN",
        hide_env_values = true
    )]
    pub container_token: Option<String>,
    /// Write the container endpoint's token here (mode 0600, no trailing newline)
    #[arg(long, value_name = "PATH")]
    pub container_token_file: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub credentials: CredentialArgs,
    /// Profile (section) of the shared credentials file to write
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub profile: String,
    /// Write the credentials once and exit
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub once: Option<bool>,
}

#[derive(Debug, Args, Clone)]
pub struct CredentialProcessArgs {
    #[command(flatten)]
    pub credentials: CredentialArgs,
    /// Read the settings from this profile of ~/.aws/config (AWS_CONFIG_FILE): keys
    /// rolesanywhere_certificate, rolesanywhere_trust_anchor_arn, …; flags given here win
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
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Output format
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
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// The command and its arguments, after `--`
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

#[derive(Debug, Args, Clone)]
pub struct DoctorArgs {
    #[command(flatten)]
    pub credentials: CredentialArgs,
    /// Read the settings from this profile of ~/.aws/config (as credential-process --profile)
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// The trust anchor's CA certificates (PEM), to check that the certificate chains to them
    #[arg(long, value_name = "PATH")]
    pub trust_anchor_ca: Option<PathBuf>,
    /// Do not call CreateSession
    #[arg(long)]
    pub no_create_session: bool,
    /// Print the report as JSON
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_flags_take_the_last_value_as_go_does_but_role_lists_append() {
        let cli = Cli::try_parse_from([
            "x",
            "credential-process",
            "--role-arn",
            "first",
            "--role-arn",
            "second",
        ])
        .unwrap();
        let Command::CredentialProcess(args) = cli.command else {
            panic!("wrong command")
        };
        assert_eq!(args.credentials.role_arn, "second");
        let cli = Cli::try_parse_from([
            "x",
            "local-endpoint",
            "--ca-bundle",
            "ca.pem",
            "--trust-anchor-arn",
            "t",
            "--profile-arn",
            "p",
            "--role-arn",
            "r1",
            "--role-arn",
            "r2",
        ])
        .unwrap();
        let Command::LocalEndpoint(args) = cli.command else {
            panic!("wrong command")
        };
        assert_eq!(args.role_arns, ["r1", "r2"]);
    }

    #[test]
    fn booleans_accept_go_forms() {
        for (flag, expected) in [
            ("--debug", Some(true)),
            ("--debug=true", Some(true)),
            ("--debug=false", Some(false)),
        ] {
            let cli = Cli::try_parse_from(["x", "sign-string", flag]).unwrap();
            let Command::SignString(args) = cli.command else {
                panic!("wrong command")
            };
            assert_eq!(args.key.debug, expected, "{flag}");
        }
    }
}
