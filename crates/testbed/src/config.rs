//! What the endpoint trusts, where it listens, and how it misbehaves: [`EndpointConfig`] and the
//! [`FaultPlan`] of injected failures.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use rolesanywhere_verifier::DEFAULT_MAX_CLOCK_SKEW;

use crate::tls::TlsIdentity;

/// Faults to inject, for testing clients' retries and timeouts. Drops are used up first, then
/// failures; the delay applies to every answer (and before every drop).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultPlan {
    /// Answer the next N requests with `fail_status` and an AWS-shaped error.
    pub fail_next: u32,
    /// 503 `ServiceUnavailableException` by default; 429 gives `ThrottlingException`.
    pub fail_status: u16,
    /// Close the connection without answering for the next N requests.
    pub drop_next: u32,
    /// Wait this long before every answer.
    pub delay: Duration,
}

impl Default for FaultPlan {
    fn default() -> Self {
        FaultPlan {
            fail_next: 0,
            fail_status: 503,
            drop_next: 0,
            delay: Duration::ZERO,
        }
    }
}

/// How a successful answer is spoiled, for testing what clients accept (a hostile or broken
/// endpoint). Applies to every answer the verifier grants until changed; the request is verified
/// first, as ever.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum AnswerFault {
    /// Answer as the service does: fresh random credentials.
    #[default]
    None,
    /// Issue these values instead of random ones, whatever they are (a secret ending in `\`,
    /// `$(...)`, a newline, control characters): the answer is otherwise well formed.
    IssueCredentials {
        /// `accessKeyId`.
        access_key_id: String,
        /// `secretAccessKey`.
        secret_access_key: String,
        /// `sessionToken`.
        session_token: String,
    },
    /// Issue credentials that expire this many seconds after the answer, whatever
    /// `durationSeconds` asked (the service never issues less than 900 s): for tests of what
    /// clients do when credentials expire, in seconds rather than 15 minutes.
    ShortLife {
        /// The credentials' life.
        seconds: u32,
    },
    /// A 201 whose body never ends: `declared_length` bytes announced in `Content-Length` (a
    /// chunked body when `None`), sent as JSON whitespace for as long as the client reads.
    EndlessBody {
        /// The `Content-Length` to announce, e.g. 2,000,000,000.
        declared_length: Option<u64>,
    },
}

impl std::fmt::Debug for AnswerFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AnswerFault::None => f.write_str("None"),
            // The chosen values are test data, but keep them out of logs like real ones.
            AnswerFault::IssueCredentials { .. } => f.write_str("IssueCredentials(<chosen>)"),
            AnswerFault::ShortLife { seconds } => f
                .debug_struct("ShortLife")
                .field("seconds", seconds)
                .finish(),
            AnswerFault::EndlessBody { declared_length } => f
                .debug_struct("EndlessBody")
                .field("declared_length", declared_length)
                .finish(),
        }
    }
}

/// What the endpoint trusts, where it listens, and how it misbehaves.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// PEM bundle (or one DER certificate) of the trust anchor's CA certificates.
    pub trust_anchor_ca_pem: Vec<u8>,
    /// The one trust anchor that exists; its region and account are the endpoint's.
    pub trust_anchor_arn: String,
    /// The one profile that exists.
    pub profile_arn: String,
    /// The roles the profile allows.
    pub role_arns: Vec<String>,
    /// A loopback address; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The TLS server identity; `None` makes a throwaway one (see [`crate::RunningEndpoint::tls_ca_pem`]).
    pub tls: Option<TlsIdentity>,
    /// The largest accepted difference between `X-Amz-Date` and the endpoint's clock.
    pub max_clock_skew: Duration,
    /// Added to the system clock to give the endpoint's clock (to test clients' skew handling).
    pub clock_offset: time::Duration,
    /// The faults to inject from the first request on.
    pub faults: FaultPlan,
    /// How successful answers are spoiled, from the first request on.
    pub answer_fault: AnswerFault,
    /// Append one JSON line per request here.
    pub request_log: Option<PathBuf>,
}

impl EndpointConfig {
    /// A configuration with the defaults: `127.0.0.1:0`, throwaway TLS, 300 s skew, no faults.
    pub fn new(
        trust_anchor_ca_pem: impl Into<Vec<u8>>,
        trust_anchor_arn: impl Into<String>,
        profile_arn: impl Into<String>,
        role_arns: Vec<String>,
    ) -> Self {
        EndpointConfig {
            trust_anchor_ca_pem: trust_anchor_ca_pem.into(),
            trust_anchor_arn: trust_anchor_arn.into(),
            profile_arn: profile_arn.into(),
            role_arns,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls: None,
            max_clock_skew: DEFAULT_MAX_CLOCK_SKEW,
            clock_offset: time::Duration::ZERO,
            faults: FaultPlan::default(),
            answer_fault: AnswerFault::None,
            request_log: None,
        }
    }
}

/// What the next request gets from the fault plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultAction {
    /// Answer as verification says.
    None,
    /// Close the connection without an answer.
    Drop,
    /// Answer with this status.
    Fail(u16),
}

impl FaultPlan {
    /// Uses up one drop, else one failure, for the next request.
    pub(crate) fn take(&mut self) -> FaultAction {
        if self.drop_next > 0 {
            self.drop_next -= 1;
            FaultAction::Drop
        } else if self.fail_next > 0 {
            self.fail_next -= 1;
            FaultAction::Fail(self.fail_status)
        } else {
            FaultAction::None
        }
    }
}
