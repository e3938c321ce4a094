//! rolesanywhere-helper: short-lived AWS credentials from an X.509 certificate and its private
//! key, through IAM Roles Anywhere. A drop-in for AWS's `aws_signing_helper`.
//!
//! Data flows one way, one folder a stage: `cli` (clap) -> `settings` (validated, typed) ->
//! `identity` (certificate + key, whatever holds the key) -> `enrollment` (certificate requests)
//! -> `sigv4x509` (pure signing) -> `session` (CreateSession over HTTPS) -> `credentials` ->
//! `output` (one-shot) and `daemon` (serve, update) -> `commands` (one thin file per subcommand).

#![warn(missing_docs, unreachable_pub)]
// Unsafe code lives in one module, the PKCS#11 raw calls (identity/pkcs11/raw.rs).
#![deny(unsafe_code)]

pub mod cli;
pub mod commands;
pub mod credentials;
pub mod daemon;
pub mod enrollment;
pub mod error;
// The fuzz targets' way in (fuzz/): never part of a normal build.
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod identity;
pub mod output;
pub mod session;
pub mod settings;
pub mod sigv4x509;
pub mod support;

// The helper against the test bed and its verifier: they drive every stage, so they stand
// above them all.
#[cfg(test)]
mod testbed_tests;

pub use error::{Error, ExitClass, Result};
