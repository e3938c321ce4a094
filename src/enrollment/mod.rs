//! Enrollment: what it takes to get a certificate for a key wherever it lives. [`csr`] builds
//! PKCS#10 requests signed through the identity stage's [`Signer`](crate::identity::Signer);
//! [`subject`] reads and writes the distinguished names they carry; [`renew`] renews a
//! certificate file with the user's CA when it falls due.

pub mod csr;
pub mod renew;
mod rfc4514;
pub mod subject;

pub use csr::{RequestContent, build_request};
pub use subject::Subject;
