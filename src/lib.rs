//! rolesanywhere-helper: short-lived AWS credentials from an X.509 certificate and its private
//! key, through IAM Roles Anywhere. A drop-in for AWS's `aws_signing_helper`.
//!
//! Data flows one way: inputs -> signer -> signed request -> credentials -> output.

pub mod certificate;
pub mod cli;
pub mod commands;
pub mod credentials;
pub mod demo;
pub mod endpoint;
pub mod error;
pub mod input_file;
pub mod inputs;
pub mod key_source;
pub mod local_endpoint;
pub mod output;
pub mod random;
pub mod session;
pub mod sigv4x509;
pub mod throwaway_pki;
pub mod tls;

pub use error::{Error, ExitClass, Result};
