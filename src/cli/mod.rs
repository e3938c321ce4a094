//! The command line, flag-compatible with `aws_signing_helper` 1.8: clap definitions only.

// clap turns doc comments into help text: every flag is documented by its help, and the
// argument structs deliberately have none (clap would make it the about text of every command
// that flattens them).
#![allow(missing_docs)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use zeroize::Zeroizing;

/// A password or token: held zeroized from the moment clap parses it.
fn secret(value: &str) -> Result<Zeroizing<String>, std::convert::Infallible> {
    Ok(Zeroizing::new(value.to_string()))
}

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
    ///
    /// Signs AWS's fixed test message with the key, to check that the key works without calling
    /// AWS.
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
    ///
    /// Checks what the service checks: the signature against the X-Amz-X509 certificate (verified by
    /// a different library than the one the helper signs with), the serial in the credential scope,
    /// the chain to the CA (at most 5 certificates), validity, v3 / CA:false / digitalSignature,
    /// X-Amz-Date within --max-clock-skew, the duration and the ARNs. Answers 201 with fresh random
    /// credentials or the AWS-shaped error.
    LocalEndpoint(LocalEndpointArgs),
    /// Try it with no AWS account: throwaway CA, local endpoint, credential-process against it
    ///
    /// Creates a throwaway CA and client certificate, starts the local endpoint on 127.0.0.1, runs
    /// the real credential-process path against it, and prints the credentials and what the endpoint
    /// verified.
    Demo(DemoArgs),
}

#[derive(Debug, Args, Clone)]
pub struct LocalEndpointArgs {
    /// PEM bundle of the trust anchor's CA certificates
    ///
    /// The trust anchor: client certificates must chain to these CA certificates.
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
    ///
    /// Loopback addresses only; the default 127.0.0.1:0 picks a free port (write it out with
    /// --ready-file).
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
    ///
    /// The certificate, PEM or DER. A PEM file may hold the certificate and its key together; then
    /// --private-key may be left out. A PKCS#12 bundle (.p12/.pfx) gives the leaf, its key and the
    /// bundle's other certificates as the chain (modern OpenSSL 3 form and the legacy 3DES/RC2, SHA-1
    /// MAC form; password: --pkcs12-password). A `pkcs11:` URI (RFC 7512) names a certificate on a
    /// token; with only a certificate URI the key is the certificate's (same CKA_ID). Without
    /// --intermediates, the certificates after the leaf in this file (a full-chain file) are the
    /// chain. `env:NAME` reads the environment variable NAME and `-` reads standard input; either
    /// holds PEM (a certificate, a key, or both) or base64 of DER; the variable is read once and
    /// never passed on to a program the helper starts. To name a file called `env:x` or `-`, write
    /// `./env:x` or `./-`.
    #[arg(long, value_name = "PATH")]
    pub certificate: Option<String>,
    /// Path to the private key (PKCS#8, PKCS#1 or SEC1; PEM or DER)
    ///
    /// The private key: PKCS#8, PKCS#1 (RSA) or SEC1 (EC), PEM or DER; RSA 2048 to 4096 bits, EC
    /// P-256, P-384 or P-521, or ML-DSA-44/65/87 in the three PKCS#8 forms OpenSSL 3.5 writes (seed,
    /// expanded key, both). The signature algorithm follows from the key: AWS4-X509-RSA-SHA256
    /// (PKCS#1 v1.5), AWS4-X509-ECDSA-SHA256 (SHA-256 on every curve) or AWS4-X509-MLDSA (pure
    /// ML-DSA, empty context). An encrypted PKCS#8 key (ENCRYPTED PRIVATE KEY) needs --pkcs8-password
    /// or the terminal. Also: a `pkcs11:` URI (a key on a token), a TSS2 PRIVATE KEY file (a TPM key
    /// from the tpm2 OpenSSL provider or tpm2_encodeobject; parent the owner hierarchy or a
    /// persistent key), `handle:0x81000101` (a persisted TPM key; the TPM is TPM_DEVICE, else
    /// /dev/tpmrm0, then /dev/tpm0), `env:NAME` or `-` (as for --certificate). May be left out when
    /// --certificate holds the key. Before any network call the helper checks that the key belongs to
    /// the certificate.
    #[arg(long, value_name = "PATH")]
    pub private_key: Option<String>,
    /// PKCS#11 module to load (for pkcs11: URIs)
    ///
    /// The PKCS#11 module for `pkcs11:` URIs. Without it: the URI's module-path= (or module-name=,
    /// looked up in p11-kit's module directories), else p11-kit's proxy, which exposes every token
    /// p11-kit knows about. The PIN comes from the URI's pin-value= or pin-source=FILE, else
    /// PKCS11_PIN, else the terminal (not echoed; with no terminal the command fails at once). A
    /// wrong PIN fails at once with the token's retry state and is never retried. One module
    /// initialisation, session and login serve a whole process (serve and update included) and are
    /// re-opened if the token drops them.
    #[arg(long, value_name = "PATH")]
    pub pkcs11_lib: Option<String>,
    /// Reuse the PIN for keys that need a login before each signature
    ///
    /// Keys with CKA_ALWAYS_AUTHENTICATE (for example YubiKey PIV slot 9c) need a login before each
    /// signature; with this flag the user PIN is reused for it. Without it the PIN is asked for on
    /// the terminal each time.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub reuse_pin: Option<bool>,
    /// Password of a TPM key
    ///
    /// Password of a TPM key. Without it (and without --no-tpm-key-password): the key file's
    /// emptyAuth TRUE means no password, else the terminal is asked (not echoed); with no terminal
    /// the command fails at once. A wrong password (TPM_RC_AUTH_FAIL) is never retried, in the same
    /// run or later in a long-running process: each wrong try counts toward the TPM's
    /// dictionary-attack lockout.
    #[arg(long, value_name = "PASSWORD", value_parser = secret)]
    pub tpm_key_password: Option<Zeroizing<String>>,
    /// The TPM key has no password
    ///
    /// The TPM key has no password. Needed for keys written by tpm2_encodeobject, which sets
    /// emptyAuth FALSE even without a password, and for persisted handles without a password.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub no_tpm_key_password: Option<bool>,
    /// Password of an encrypted PKCS#8 key (default: asked on the terminal)
    ///
    /// Password of an encrypted PKCS#8 key (PEM or DER): PBES2 with PBKDF2 (HMAC-SHA1, -SHA256,
    /// -SHA384, -SHA512) or scrypt, and AES-128/192/256-CBC. Without it the password is asked on the
    /// terminal (not echoed, three tries); with no terminal the command fails at once. Legacy schemes
    /// (PBES1, 3DES, DES, RC2) are named in the error, with the `openssl pkcs8` line that re-encrypts
    /// the key.
    #[arg(long, value_name = "PASSWORD", value_parser = secret)]
    pub pkcs8_password: Option<Zeroizing<String>>,
    /// Password of a PKCS#12 (.p12/.pfx) --certificate (default: empty, then asked on the terminal)
    ///
    /// Password of a PKCS#12 --certificate. Without it the empty password is tried, then the terminal
    /// is asked. Not in AWS's helper, which only reads bundles with an empty password.
    #[arg(long, value_name = "PASSWORD", value_parser = secret)]
    pub pkcs12_password: Option<Zeroizing<String>>,
    /// Certificate store selector (Windows and macOS stores only)
    ///
    /// Accepted for compatibility with AWS's helper; they name the Windows and macOS certificate
    /// stores, so on Linux they end with a clear error.
    #[arg(long, value_name = "SELECTOR")]
    pub cert_selector: Option<String>,
    /// Certificate store name (Windows only)
    ///
    /// Accepted for compatibility with AWS's helper; they name the Windows and macOS certificate
    /// stores, so on Linux they end with a clear error.
    #[arg(long, value_name = "NAME")]
    pub system_store_name: Option<String>,
    /// Use the certificate that expires last (certificate stores only)
    ///
    /// Accepted for compatibility with AWS's helper; they name the Windows and macOS certificate
    /// stores, so on Linux they end with a clear error.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub use_latest_expiring_certificate: Option<bool>,
    /// Print debug traces on stderr (never secrets)
    ///
    /// Traces on stderr the endpoint, the canonical request, the string to sign and timings, and logs
    /// each CreateSession (the service's request id, the certificate serial, the role and the access
    /// key id). Never prints a private key, a PIN, a secret access key or a session token. For serve:
    /// one line per request (peer, method, path, status) and each refresh, never an IMDS or container
    /// token.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub debug: Option<bool>,
}

#[derive(Debug, Args, Clone)]
pub struct CredentialArgs {
    #[command(flatten)]
    pub key: KeyArgs,
    /// Path to the intermediate certificates (PEM bundle), sent in file order
    ///
    /// A PEM bundle of intermediate CA certificates, sent as X-Amz-X509-Chain in file order. Without
    /// it, the certificates after the leaf in the --certificate file are the chain; for a certificate
    /// on a PKCS#11 token, the token's CA certificates that really issue the leaf. The leaf itself is
    /// never sent in the chain, even when the bundle repeats it. Also takes `env:NAME` or `-`.
    #[arg(long, value_name = "PATH")]
    pub intermediates: Option<PathBuf>,
    /// ARN of the trust anchor
    ///
    /// ARN of the trust anchor. Its region is the default region, and the profile ARN must be in the
    /// same region.
    #[arg(long, value_name = "ARN", default_value = "")]
    pub trust_anchor_arn: String,
    /// ARN of the profile
    #[arg(long, value_name = "ARN", default_value = "")]
    pub profile_arn: String,
    /// ARN of the role to assume
    #[arg(long, value_name = "ARN", default_value = "")]
    pub role_arn: String,
    /// Session duration in seconds (900 to 43200)
    ///
    /// Session duration in seconds, 900 to 43200 (default 3600). Under 20 minutes a warning is
    /// printed: SDKs refresh 15 minutes before expiry, so such credentials are hardly used before the
    /// helper runs again.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = crate::settings::credentials::DEFAULT_SESSION_DURATION,
        allow_negative_numbers = true
    )]
    pub session_duration: i64,
    /// Region of the endpoint (default: the trust anchor's)
    ///
    /// Region of the endpoint; default: the trust anchor ARN's. The endpoint is then
    /// https://rolesanywhere.<region>.<domain> for the region's partition (aws, aws-cn, aws-us-gov,
    /// aws-iso, aws-iso-b, aws-iso-e, aws-iso-f, aws-eusc); rolesanywhere-fips.… with
    /// AWS_USE_FIPS_ENDPOINT=true, and the dual-stack domain (api.aws) with
    /// AWS_USE_DUALSTACK_ENDPOINT=true.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,
    /// Endpoint URL; wins over AWS_ENDPOINT_URL_ROLESANYWHERE
    ///
    /// Endpoint URL. Wins over AWS_ENDPOINT_URL_ROLESANYWHERE (which is ignored when
    /// AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true); without either, the endpoint follows from the
    /// region. A URL without a scheme gets https://. A loopback endpoint (127.0.0.0/8, ::1,
    /// localhost) never goes through a proxy. TLS trusts the system store (SSL_CERT_FILE /
    /// SSL_CERT_DIR honoured) plus the CAs in AWS_CA_BUNDLE.
    #[arg(long, value_name = "URL")]
    pub endpoint: Option<String>,
    /// Do not verify the endpoint's TLS certificate (never in production)
    ///
    /// Turns TLS verification off. Tests only, never in production; to trust a private CA, use
    /// AWS_CA_BUNDLE instead.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub no_verify_ssl: Option<bool>,
    /// Accepted for compatibility: HTTPS_PROXY / NO_PROXY are always honoured
    ///
    /// Accepted for compatibility and changes nothing: HTTPS_PROXY and NO_PROXY are always honoured,
    /// as AWS's helper 1.8 does. A loopback endpoint never goes through a proxy.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub with_proxy: Option<bool>,
    /// Role session name (2 to 64 of [A-Za-z0-9_+=,.@-]); the profile must allow it
    #[arg(long, value_name = "NAME")]
    pub role_session_name: Option<String>,
    /// Reuse credentials across runs (credential-process, export, exec) until 20 minutes before
    /// they expire; also ROLESANYWHERE_HELPER_CACHE=1
    ///
    /// Reuse credentials across runs of credential-process, export and exec until 20 minutes before
    /// they expire (also ROLESANYWHERE_HELPER_CACHE=1), so loops do not hit CreateSession's
    /// 10-per-second quota. The cache key is a hash of every input that changes the answer
    /// (certificate, key, chain, ARNs, region, endpoint, duration, session name). One CreateSession
    /// at a time across processes (a file lock). A corrupt file, another user's, one others may read,
    /// or a symlink is never trusted: it is replaced, with a warning.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub cache: Option<bool>,
    /// Where the cache lives (default: $XDG_RUNTIME_DIR/rolesanywhere-helper, else
    /// ~/.cache/rolesanywhere-helper)
    ///
    /// Where the cache lives (default $XDG_RUNTIME_DIR/rolesanywhere-helper, else
    /// ~/.cache/rolesanywhere-helper). Files are 0600 in a 0700 directory, written atomically.
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct ServeArgs {
    #[command(flatten)]
    pub credentials: CredentialArgs,
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
    /// Writes the container endpoint's token here (mode 0600, no trailing newline), for clients'
    /// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE.
    #[arg(long, value_name = "PATH")]
    pub container_token_file: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub credentials: CredentialArgs,
    /// Profile (section) of the shared credentials file to write
    ///
    /// The section of AWS_SHARED_CREDENTIALS_FILE (else ~/.aws/credentials) to write
    /// aws_access_key_id, aws_secret_access_key and aws_session_token into. Every other section, key,
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
}

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
    /// rolesanywhere_cache, rolesanywhere_cache_dir, rolesanywhere_no_verify_ssl. Passwords and PINs
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
    /// rolesanywhere_cache, rolesanywhere_cache_dir, rolesanywhere_no_verify_ssl. Passwords and PINs
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
    /// rolesanywhere_cache, rolesanywhere_cache_dir, rolesanywhere_no_verify_ssl. Passwords and PINs
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
    /// Read the settings from this profile of ~/.aws/config (as credential-process --profile)
    ///
    /// Read the settings from this profile of ~/.aws/config (AWS_CONFIG_FILE honoured); flags given
    /// on the command line win. Keys: rolesanywhere_certificate, rolesanywhere_private_key,
    /// rolesanywhere_intermediates, rolesanywhere_trust_anchor_arn, rolesanywhere_profile_arn,
    /// rolesanywhere_role_arn, rolesanywhere_session_duration, rolesanywhere_region,
    /// rolesanywhere_endpoint, rolesanywhere_role_session_name, rolesanywhere_pkcs11_lib,
    /// rolesanywhere_cache, rolesanywhere_cache_dir, rolesanywhere_no_verify_ssl. Passwords and PINs
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
