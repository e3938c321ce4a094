//! The one support module of the integration tests: the real binary run through a builder
//! ([`Helper`]), the local Roles Anywhere endpoint (as a child process or in this process), a
//! throwaway PKI in a private temp dir, moto as STS, SoftHSM2 and swtpm fixtures, a private network namespace,
//! raw HTTP, botocore, and tables that report every failing row.
//!
//! Every import of the library's test helpers (the throwaway PKI, the local endpoint) goes through
//! [`testbed`] and [`verifier`] below, so moving them to other crates is a change here only.
#![allow(dead_code)]

mod botocore;
mod endpoint;
mod http;
mod moto;
mod netns;
mod pki;
mod process;
mod softhsm;
mod swtpm;
mod table;

pub use botocore::*;
pub use endpoint::*;
pub use http::*;
pub use moto::*;
pub use netns::*;
pub use pki::*;
pub use process::*;
pub use softhsm::*;
pub use swtpm::*;
pub use table::*;

/// The test bed's throwaway PKI (certificates and keys made at test time).
pub mod testbed {
    pub use rolesanywhere_testbed::pki::*;
}

/// The test bed's local Roles Anywhere endpoint (verifies requests, issues fake credentials).
pub mod verifier {
    pub use rolesanywhere_testbed::*;
}

pub const BIN: &str = env!("CARGO_BIN_EXE_rolesanywhere-helper");
pub const TRUST_ANCHOR_ARN: &str =
    "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/test-ta";
pub const PROFILE_ARN: &str = "arn:aws:rolesanywhere:us-east-1:123456789012:profile/test-profile";
pub const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/test-role";

/// Test-only: refresh after 0.3% of a 900 s lifetime, i.e. every 2.7 s.
pub const FAST_REFRESH: (&str, &str) = ("RAH_TEST_REFRESH_FRACTION", "0.003");

static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A name part unique in this run (process id and a counter).
pub fn next_unique() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    )
}

pub fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// A command's stderr as text.
pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
