//! The CreateSession request before it is signed: query, headers and body, built from what is
//! asked for and the certificate material that goes on the wire.

use time::OffsetDateTime;

use super::canonical::{amz_date, canonical_query};
use crate::error::{Error, Result};

/// What CreateSession is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateSessionParams {
    /// `trustAnchorArn`.
    pub trust_anchor_arn: String,
    /// `profileArn`.
    pub profile_arn: String,
    /// `roleArn`.
    pub role_arn: String,
    /// `durationSeconds`.
    pub duration_seconds: u32,
    /// `roleSessionName`.
    pub role_session_name: Option<String>,
}

/// The certificate material that goes on the wire.
#[derive(Debug, Clone, Copy)]
pub struct SigningIdentity<'a> {
    /// DER of the leaf certificate (`X-Amz-X509`).
    pub leaf_der: &'a [u8],
    /// DER of the intermediates, in the order given (`X-Amz-X509-Chain`), never the leaf.
    pub chain_der: &'a [Vec<u8>],
    /// The leaf's serial number in decimal.
    pub serial_decimal: &'a str,
}

/// A request to sign: everything but the `Authorization` header.
#[derive(Debug, Clone)]
pub struct UnsignedRequest {
    /// The HTTP method.
    pub method: &'static str,
    /// The raw path.
    pub path: &'static str,
    /// The canonical query string (also the query that is sent).
    pub canonical_query: String,
    /// Every header to send, `Host` first.
    pub headers: Vec<(String, String)>,
    /// The JSON body.
    pub body: Vec<u8>,
    /// `X-Amz-Date`.
    pub amz_date: String,
    /// The date part of `X-Amz-Date`, for the credential scope.
    pub date: String,
}

/// The CreateSession request for `host` (with `:port` when not 443) as of `now`.
pub fn create_session(
    params: &CreateSessionParams,
    host: &str,
    identity: SigningIdentity<'_>,
    now: OffsetDateTime,
) -> Result<UnsignedRequest> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;

    let query = vec![
        ("profileArn".to_string(), params.profile_arn.clone()),
        ("roleArn".to_string(), params.role_arn.clone()),
        (
            "trustAnchorArn".to_string(),
            params.trust_anchor_arn.clone(),
        ),
    ];
    let canonical_query = canonical_query(&query);

    let mut body = serde_json::Map::new();
    body.insert("durationSeconds".into(), params.duration_seconds.into());
    if let Some(name) = &params.role_session_name {
        body.insert("roleSessionName".into(), name.clone().into());
    }
    let body =
        serde_json::to_vec(&body).map_err(|e| Error::Internal(format!("request body: {e}")))?;

    let (amz_date, date) = amz_date(now);
    let mut headers = vec![
        ("Host".to_string(), host.to_string()),
        ("Content-Type".to_string(), "application/json".to_string()),
        ("X-Amz-Date".to_string(), amz_date.clone()),
        ("X-Amz-X509".to_string(), b64.encode(identity.leaf_der)),
    ];
    if !identity.chain_der.is_empty() {
        let chain = identity
            .chain_der
            .iter()
            .map(|der| b64.encode(der))
            .collect::<Vec<_>>();
        headers.push(("X-Amz-X509-Chain".to_string(), chain.join(",")));
    }
    Ok(UnsignedRequest {
        method: "POST",
        path: "/sessions",
        canonical_query,
        headers,
        body,
        amz_date,
        date,
    })
}
