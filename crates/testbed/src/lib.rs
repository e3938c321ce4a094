//! The HTTPS test bed around the pure verifier (`rolesanywhere-verifier`): a local IAM Roles
//! Anywhere endpoint on a loopback address, for the demo, the tests and users' own CI, with
//! injected faults, a request log, throwaway TLS and a throwaway PKI ([`pki`]).
//!
//! Every request goes to the verifier, which checks what the real service checks and rebuilds
//! what was signed with its own code; the endpoint answers as the service does, with worthless
//! random credentials, and keeps a [`VerificationRecord`] of every request.
//!
//! In process: [`start`] runs it on a background thread and returns a [`RunningEndpoint`]. As a
//! command: the helper's `local-endpoint` builds an [`EndpointConfig`] from its flags, then
//! [`BoundEndpoint::bind`] and [`serve_until_signal`].
//!
//! Like the verifier, this crate does not depend on `rolesanywhere-helper` (`scripts/test.sh`
//! fails if it ever does).
#![warn(missing_docs)]

mod atomic_file;
mod config;
mod der;
mod error;
mod handler;
pub mod pki;
mod server;
mod shared;
mod tls;

pub use atomic_file::write_atomically;
pub use config::{AnswerFault, EndpointConfig, FaultPlan};
pub use error::{Error, Result};
pub use rolesanywhere_verifier::{DEFAULT_MAX_CLOCK_SKEW, Outcome, VerificationRecord};
pub use server::{BoundEndpoint, RunningEndpoint, serve_until_signal, start};
pub use shared::{EndpointControl, MAX_RECORDS_IN_MEMORY};
pub use tls::TlsIdentity;
