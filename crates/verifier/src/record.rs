//! The verification record: what the endpoint saw, rebuilt and decided for one request. The test
//! bed keeps it in memory and writes it as one JSON line to the request log, whose field names
//! are this struct's. It never holds a secret: no secret key, no session token.

use serde::Serialize;

/// How a request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Verified, and credentials were issued (HTTP 201).
    Issued,
    /// Refused by verification (4xx).
    #[default]
    Rejected,
    /// Answered with an injected error status, whatever verification said.
    FaultInjected,
    /// The connection was closed without an answer (injected fault).
    Dropped,
}

/// One request as the endpoint verified it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct VerificationRecord {
    /// When the endpoint received it (its own clock), `YYYY-MM-DDTHH:MM:SSZ`.
    pub time: String,
    /// The `x-amzn-RequestId` it answered with.
    pub request_id: String,
    /// The client's address and port.
    pub remote_addr: String,
    /// The HTTP method.
    pub method: String,
    /// The request path.
    pub path: String,
    /// How the request ended.
    pub outcome: Outcome,
    /// The HTTP status sent; `None` when the connection was dropped.
    pub status: Option<u16>,
    /// The `X-Amzn-ErrorType` of an error answer.
    pub error_type: Option<String>,
    /// The message of an error answer.
    pub error_message: Option<String>,
    /// True when the request passed every check (even if a fault was then injected).
    pub verified: bool,
    /// The `Authorization` algorithm.
    pub algorithm: Option<String>,
    /// The leaf key, e.g. `EC P-256`, once the chain verified.
    pub key: Option<String>,
    /// The leaf's serial number in decimal.
    pub serial: Option<String>,
    /// The leaf certificate's subject.
    pub leaf_subject: Option<String>,
    /// The subjects of the `X-Amz-X509-Chain` certificates, in the order sent.
    pub chain_subjects: Vec<String>,
    /// The intermediates the verified path went through, leaf side first.
    pub path_subjects: Vec<String>,
    /// The trust anchor CA the path ended at.
    pub trust_anchor_subject: Option<String>,
    /// The `SignedHeaders` of the `Authorization` header.
    pub signed_headers: Vec<String>,
    /// The `X-Amz-Date` header.
    pub amz_date: Option<String>,
    /// `X-Amz-Date` minus the endpoint's clock, in seconds (positive: the client is ahead).
    pub clock_skew_seconds: Option<i64>,
    /// The canonical request the endpoint rebuilt from what it received.
    pub canonical_request: Option<String>,
    /// The string to sign the endpoint rebuilt and verified the signature over.
    pub string_to_sign: Option<String>,
    /// The trust anchor ARN asked for.
    pub trust_anchor_arn: Option<String>,
    /// The profile ARN asked for.
    pub profile_arn: Option<String>,
    /// The role ARN asked for.
    pub role_arn: Option<String>,
    /// The session duration asked for (3600 by default).
    pub duration_seconds: Option<u32>,
    /// The role session name asked for.
    pub role_session_name: Option<String>,
    /// The access key id issued (never the secret key or the session token).
    pub access_key_id: Option<String>,
    /// When the issued credentials expire, `YYYY-MM-DDTHH:MM:SSZ`.
    pub expiration: Option<String>,
}
