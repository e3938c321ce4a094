//! The flags of every command that signs: where the certificate and key come from, and what
//! to ask CreateSession for.

// clap turns doc comments into help text: the argument structs deliberately have none.
#![allow(missing_docs)]

use std::path::PathBuf;

use clap::Args;
use zeroize::Zeroizing;

use super::secret;

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
    // The three required ARNs first: they lead the help of every command that signs.
    /// ARN of the trust anchor
    ///
    /// ARN of the trust anchor. Its region is the default region, and the profile ARN must be in the
    /// same region.
    #[arg(
        long,
        value_name = "ARN",
        default_value = "",
        hide_default_value = true
    )]
    pub trust_anchor_arn: String,
    /// ARN of the profile
    #[arg(
        long,
        value_name = "ARN",
        default_value = "",
        hide_default_value = true
    )]
    pub profile_arn: String,
    /// ARN of the role to assume
    #[arg(
        long,
        value_name = "ARN",
        default_value = "",
        hide_default_value = true
    )]
    pub role_arn: String,
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
    #[command(flatten)]
    pub chain: super::ChainArgs,
}
