//! rolesanywhere-helper: short-lived AWS credentials from an X.509 certificate and its private
//! key, through IAM Roles Anywhere. A drop-in for AWS's `aws_signing_helper`.
//!
//! Data flows one way: inputs -> signer -> signed request -> credentials -> output.

pub mod cache;
pub mod certificate;
pub mod cli;
pub mod commands;
pub mod config_profile;
pub mod credentials;
pub mod credentials_file;
pub mod demo;
pub mod doctor;
pub mod endpoint;
pub mod error;
pub mod export;
pub mod input_file;
pub mod inputs;
pub mod key_source;
pub mod local_endpoint_command;
pub mod output;
pub mod pkcs12_bundle;
pub mod private_file;
pub mod random;
pub mod refresher;
pub mod sd_notify;
pub mod secret_prompt;
pub mod serve;
pub mod session;
pub mod sigv4x509;
pub mod tls;
pub mod update;

pub use error::{Error, ExitClass, Result};
