//! The flags of the tools around the helper: `local-endpoint` and `demo`.

// clap turns doc comments into help text: the argument structs deliberately have none.
#![allow(missing_docs)]

use std::path::PathBuf;

use clap::{Args, ValueEnum};

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
