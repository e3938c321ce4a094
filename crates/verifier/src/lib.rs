//! The verifying side of IAM Roles Anywhere's CreateSession, pure: a received request,
//! the configuration and the time come in; a grant with the answer document, or an AWS-shaped
//! refusal, and a [`VerificationRecord`] of everything learnt go out. No socket, no file.
//!
//! It checks what the real service checks: the `X-Amz-Date` and the clock skew, the
//! `Authorization` header and its credential scope, the signed headers, the certificate chain up
//! to the configured trust anchor CAs, and the SigV4-X509 signature over a canonical request it
//! rebuilds with its own code ([`canonical`]) and verifies with a different implementation from
//! the signer's ([`signatures`]).
//!
//! This crate does not depend on `rolesanywhere-helper`, the signer it verifies
//! (`scripts/test.sh` fails if it ever does): that they share no code is a compile-time fact.
#![warn(missing_docs)]

pub mod canonical;
pub mod chain;
pub mod profile;
pub mod record;
pub mod response;
pub mod signatures;
pub mod verify;

pub use chain::{TrustAnchor, VerifiedChain, load_anchors, verify_chain};
pub use profile::check_leaf_profile;
pub use record::{Outcome, VerificationRecord};
pub use response::{ErrorReply, Grant, Issued, issue};
pub use signatures::{LeafKey, MlDsaLevel};
pub use verify::{DEFAULT_MAX_CLOCK_SKEW, MAX_BODY, Request, VerifierConfig, verify};

use time::OffsetDateTime;

/// `YYYY-MM-DDTHH:MM:SSZ`, whole seconds in UTC, as records, messages and answers carry times.
pub fn iso8601(time: OffsetDateTime) -> String {
    let t = time.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}
