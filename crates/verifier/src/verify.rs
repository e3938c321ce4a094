//! The checks CreateSession makes, in order, on one received request. Pure: the
//! request, the configuration and the time come in; a grant or an AWS-shaped refusal goes out,
//! and the record is filled with everything learnt on the way.

use std::time::Duration;

use base64::Engine as _;
use time::OffsetDateTime;

use crate::canonical::{self, printable};
use crate::chain::{self, TrustAnchor};
use crate::record::VerificationRecord;
use crate::response::{ErrorReply, Grant};
use crate::signatures::verify_request_signature;

/// The largest request body accepted.
pub const MAX_BODY: usize = 64 * 1024;

/// The clock skew the real service tolerates.
pub const DEFAULT_MAX_CLOCK_SKEW: Duration = Duration::from_secs(300);

/// What the verifier trusts and knows of.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    /// The trust anchor's CA certificates.
    pub anchors: Vec<TrustAnchor>,
    /// The one trust anchor that exists.
    pub trust_anchor_arn: String,
    /// The one profile that exists.
    pub profile_arn: String,
    /// The roles the profile allows.
    pub role_arns: Vec<String>,
    /// The trust anchor ARN's region, which the credential scope must name.
    pub region: String,
    /// The trust anchor ARN's account.
    pub account: String,
    /// The largest accepted difference between `X-Amz-Date` and the verifier's clock.
    pub max_clock_skew: Duration,
}

/// A received request: header names lower-case, values as received (visible ASCII).
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// The path, as received (not decoded).
    pub path: &'a str,
    /// The raw query string, without the `?`.
    pub query: Option<&'a str>,
    /// `(lower-case name, value)` pairs, repeated headers as separate pairs.
    pub headers: &'a [(String, String)],
    /// The whole body.
    pub body: &'a [u8],
}

impl Request<'_> {
    fn header(&self, name: &str) -> Result<Option<&str>, ErrorReply> {
        let mut values = self
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            return Err(ErrorReply::validation(format!(
                "header {name} appears more than once"
            )));
        }
        Ok(first)
    }

    fn required_header(&self, name: &str, display: &str) -> Result<&str, ErrorReply> {
        self.header(name)?
            .ok_or_else(|| ErrorReply::validation(format!("missing header {display}")))
    }
}

/// A parsed ARN: `arn:<partition>:<service>:<region>:<account>:<resource>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Arn {
    /// `aws`, `aws-cn`, `aws-us-gov`...
    pub partition: String,
    /// `rolesanywhere`, `iam`...
    pub service: String,
    /// Empty for global services.
    pub region: String,
    /// The 12-digit account.
    pub account: String,
    /// `trust-anchor/<id>`, `role/<name>`...
    pub resource: String,
}

/// Parses an ARN of `service` whose resource starts with `prefix`; `regional` says whether it
/// names a region (Roles Anywhere ARNs do, IAM role ARNs do not).
pub fn parse_arn(value: &str, service: &str, prefix: &str, regional: bool) -> Result<Arn, String> {
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    let [arn, partition, svc, region, account, resource] = parts[..] else {
        return Err(format!("'{}' is not an ARN", printable(value)));
    };
    let ok = arn == "arn"
        && partition.starts_with("aws")
        && svc == service
        && regional != region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && resource.strip_prefix(prefix).is_some_and(|name| {
            !name.is_empty()
                && !name.starts_with('/')
                && name.chars().all(|c| !c.is_whitespace() && !c.is_control())
        });
    if !ok {
        let shape = if regional {
            format!("arn:aws:{service}:<region>:<12-digit account>:{prefix}<id>")
        } else {
            format!("arn:aws:{service}::<12-digit account>:{prefix}<name>")
        };
        return Err(format!(
            "'{}' is not an ARN of the form {shape}",
            printable(value)
        ));
    }
    Ok(Arn {
        partition: partition.to_string(),
        service: svc.to_string(),
        region: region.to_string(),
        account: account.to_string(),
        resource: resource.to_string(),
    })
}

/// A role session name is 2 to 64 characters of `[A-Za-z0-9_+=,.@-]`.
pub fn valid_role_session_name(name: &str) -> bool {
    (2..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
}

/// Runs every check on `req` as of `now`, filling `record`; the grant when all pass.
pub fn verify(
    req: &Request<'_>,
    config: &VerifierConfig,
    now: OffsetDateTime,
    record: &mut VerificationRecord,
) -> Result<Grant, ErrorReply> {
    // Route.
    if req.path != "/sessions" {
        return Err(ErrorReply::new(
            404,
            "UnknownOperationException",
            format!(
                "no operation at {}; CreateSession is POST /sessions",
                printable(req.path)
            ),
        ));
    }
    if req.method != "POST" {
        return Err(ErrorReply::new(
            405,
            "MethodNotAllowedException",
            format!(
                "method {} is not allowed on /sessions; use POST",
                printable(req.method)
            ),
        ));
    }
    let query = canonical::parse_query(req.query.unwrap_or(""))
        .map_err(|e| ErrorReply::validation(format!("malformed query string: {e}")))?;

    // Headers, and the canonical request and string to sign rebuilt from them.
    let amz_date = req.required_header("x-amz-date", "X-Amz-Date")?;
    record.amz_date = Some(amz_date.to_string());
    let leaf_b64 = req.required_header("x-amz-x509", "X-Amz-X509")?;
    let chain_header = req.header("x-amz-x509-chain")?;
    let authorization = req.required_header("authorization", "Authorization")?;
    let auth = canonical::parse_authorization(authorization)
        .map_err(|e| ErrorReply::validation(format!("malformed Authorization header: {e}")))?;
    record.algorithm = Some(auth.algorithm.clone());
    record.signed_headers = auth.signed_headers.clone();

    let header_block = canonical::canonical_headers(&auth.signed_headers, req.headers);
    if let Ok(block) = &header_block {
        let creq = canonical::canonical_request(
            req.method,
            req.path,
            &canonical::canonical_query(&query),
            block,
            &auth.signed_headers,
            req.body,
        );
        record.string_to_sign = Some(canonical::string_to_sign(
            &auth.algorithm,
            amz_date,
            &auth.scope(),
            &creq,
        ));
        record.canonical_request = Some(creq);
    }
    let request_time = canonical::parse_amz_date(amz_date)
        .map_err(|e| ErrorReply::validation(format!("X-Amz-Date {e}")))?;
    // X-Amz-Date has whole seconds: compare it with the clock's whole seconds.
    let now_seconds = now.replace_nanosecond(0).unwrap_or(now);
    let skew = (request_time - now_seconds).whole_seconds();
    record.clock_skew_seconds = Some(skew);

    // Certificates on the wire.
    let b64 = base64::engine::general_purpose::STANDARD;
    let leaf_der = b64
        .decode(leaf_b64)
        .map_err(|e| ErrorReply::validation(format!("X-Amz-X509 is not base64: {e}")))?;
    let leaf = chain::summarize_leaf(&leaf_der)
        .map_err(|e| ErrorReply::untrusted(format!("X-Amz-X509: {e}")))?;
    record.serial = Some(leaf.serial_decimal.clone());
    record.leaf_subject = Some(leaf.subject.clone());
    let mut chain_der = Vec::new();
    if let Some(value) = chain_header {
        for (i, part) in value.split(',').enumerate() {
            let der = b64.decode(part).map_err(|e| {
                ErrorReply::validation(format!(
                    "X-Amz-X509-Chain entry {} is not base64 (no spaces allowed): {e}",
                    i + 1
                ))
            })?;
            chain_der.push(der);
        }
        record.chain_subjects = chain::chain_subjects(&chain_der);
        if chain_der.contains(&leaf_der) {
            return Err(ErrorReply::validation(
                "X-Amz-X509-Chain must not contain the leaf certificate (X-Amz-X509)",
            ));
        }
        if chain_der.len() > chain::MAX_PATH_LEN - 1 {
            return Err(ErrorReply::untrusted(format!(
                "X-Amz-X509-Chain holds {} certificates; at most {} with the leaf",
                chain_der.len(),
                chain::MAX_PATH_LEN
            )));
        }
    }

    // Body and ARNs.
    let body: serde_json::Value = if req.body.iter().all(u8::is_ascii_whitespace) {
        serde_json::json!({})
    } else {
        serde_json::from_slice(req.body)
            .map_err(|e| ErrorReply::validation(format!("the body is not JSON: {e}")))?
    };
    let Some(body) = body.as_object() else {
        return Err(ErrorReply::validation("the body must be a JSON object"));
    };
    let duration = match body.get("durationSeconds") {
        None | Some(serde_json::Value::Null) => 3600,
        Some(v) => v
            .as_u64()
            .filter(|d| (900..=43200).contains(d))
            .ok_or_else(|| {
                ErrorReply::validation(format!(
                    "durationSeconds {v} is invalid; it must be an integer from 900 to 43200"
                ))
            })? as u32,
    };
    record.duration_seconds = Some(duration);
    let session_name = match body.get("roleSessionName") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(name)) if valid_role_session_name(name) => {
            Some(name.clone())
        }
        Some(v) => {
            return Err(ErrorReply::validation(format!(
                "roleSessionName {} is invalid; use 2 to 64 characters of [A-Za-z0-9_+=,.@-]",
                printable(&v.to_string())
            )));
        }
    };
    record.role_session_name = session_name.clone();
    let arn_input = |key: &str| -> Result<String, ErrorReply> {
        let mut in_query = query.iter().filter(|(k, _)| k == key).map(|(_, v)| v);
        let from_query = in_query.next();
        if in_query.next().is_some() {
            return Err(ErrorReply::validation(format!(
                "{key} appears more than once in the query"
            )));
        }
        let from_body = body.get(key).and_then(|v| v.as_str());
        match (from_query, from_body) {
            (Some(q), Some(b)) if q != b => Err(ErrorReply::validation(format!(
                "{key} differs between the query string and the body"
            ))),
            (Some(q), _) => Ok(q.clone()),
            (None, Some(b)) => Ok(b.to_string()),
            (None, None) => Err(ErrorReply::validation(format!("missing {key}"))),
        }
    };
    let trust_anchor_arn = arn_input("trustAnchorArn")?;
    record.trust_anchor_arn = Some(trust_anchor_arn.clone());
    let profile_arn = arn_input("profileArn")?;
    record.profile_arn = Some(profile_arn.clone());
    let role_arn = arn_input("roleArn")?;
    record.role_arn = Some(role_arn.clone());
    parse_arn(&trust_anchor_arn, "rolesanywhere", "trust-anchor/", true)
        .map_err(|e| ErrorReply::validation(format!("trustAnchorArn: {e}")))?;
    parse_arn(&profile_arn, "rolesanywhere", "profile/", true)
        .map_err(|e| ErrorReply::validation(format!("profileArn: {e}")))?;
    let role = parse_arn(&role_arn, "iam", "role/", false)
        .map_err(|e| ErrorReply::validation(format!("roleArn: {e}")))?;

    // Time and scope.
    let max_skew = config.max_clock_skew.as_secs() as i64;
    if skew.abs() > max_skew {
        return Err(ErrorReply::invalid_signature(format!(
            "X-Amz-Date {amz_date} is {}s {} the endpoint's clock ({}); at most {max_skew}s allowed",
            skew.abs(),
            if skew > 0 { "ahead of" } else { "behind" },
            crate::iso8601(now)
        )));
    }
    if auth.date != amz_date[..8] {
        return Err(ErrorReply::invalid_signature(format!(
            "credential scope date {} is not the date of X-Amz-Date {amz_date}",
            auth.date
        )));
    }
    if auth.service != "rolesanywhere" || auth.terminator != "aws4_request" {
        return Err(ErrorReply::invalid_signature(format!(
            "credential scope must end in /rolesanywhere/aws4_request, not /{}/{}",
            printable(&auth.service),
            printable(&auth.terminator)
        )));
    }
    if auth.region != config.region {
        return Err(ErrorReply::invalid_signature(format!(
            "credential scope region '{}' is not this endpoint's region '{}'",
            printable(&auth.region),
            config.region
        )));
    }
    let mut required: Vec<&str> = canonical::REQUIRED_SIGNED_HEADERS.to_vec();
    if chain_header.is_some() {
        required.push("x-amz-x509-chain");
    }
    let missing: Vec<&str> = required
        .into_iter()
        .filter(|h| !auth.signed_headers.iter().any(|s| s == h))
        .collect();
    if !missing.is_empty() {
        return Err(ErrorReply::invalid_signature(format!(
            "SignedHeaders lacks {}",
            missing.join(", ")
        )));
    }
    if auth.signed_headers.iter().any(|h| h == "authorization") {
        return Err(ErrorReply::invalid_signature(
            "SignedHeaders must not include authorization",
        ));
    }
    let header_problem = header_block.err();
    if let Some(problem) = header_problem {
        return Err(ErrorReply::invalid_signature(problem));
    }

    // Trust: the chain, then the signature made with its leaf.
    let verified = chain::verify_chain(&leaf_der, &chain_der, &config.anchors, now)
        .map_err(ErrorReply::untrusted)?;
    record.key = Some(verified.leaf_key.describe());
    record.path_subjects = verified.path_subjects.clone();
    record.trust_anchor_subject = Some(verified.anchor_subject.clone());
    if auth.serial != verified.serial_decimal {
        return Err(ErrorReply::invalid_signature(format!(
            "Credential serial {} is not the certificate's serial {}",
            auth.serial, verified.serial_decimal
        )));
    }
    let expected = verified.leaf_key.algorithm();
    if auth.algorithm != expected {
        return Err(ErrorReply::invalid_signature(format!(
            "algorithm {} does not match the certificate's {} key, which signs with {expected}",
            printable(&auth.algorithm),
            verified.leaf_key.describe()
        )));
    }
    let string_to_sign = record.string_to_sign.as_deref().unwrap_or_default();
    verify_request_signature(
        &verified.leaf_key,
        string_to_sign.as_bytes(),
        &auth.signature,
    )
    .map_err(|e| {
        ErrorReply::invalid_signature(format!(
            "{e} (check the canonical request in the request log)"
        ))
    })?;

    // What is asked for must exist.
    if trust_anchor_arn != config.trust_anchor_arn {
        return Err(ErrorReply::not_found(format!(
            "trust anchor {trust_anchor_arn} not found"
        )));
    }
    if profile_arn != config.profile_arn {
        return Err(ErrorReply::not_found(format!(
            "profile {profile_arn} not found"
        )));
    }
    if !config.role_arns.contains(&role_arn) {
        return Err(ErrorReply::not_found(format!(
            "role {role_arn} not found in profile {profile_arn}"
        )));
    }

    record.verified = true;
    Ok(Grant {
        role_arn,
        duration_seconds: duration,
        session_name: session_name.unwrap_or_else(|| verified.serial_hex.clone()),
        source_identity: match &verified.leaf_common_name {
            Some(cn) => format!("CN={cn}"),
            None => verified.leaf_subject.clone(),
        },
        leaf_subject: verified.leaf_subject,
        region: config.region.clone(),
        partition: role.partition,
        account: config.account.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_arns() {
        let ta = parse_arn(
            "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/abc",
            "rolesanywhere",
            "trust-anchor/",
            true,
        )
        .unwrap();
        assert_eq!(
            (ta.region.as_str(), ta.account.as_str()),
            ("us-east-1", "123456789012")
        );
        let role = parse_arn(
            "arn:aws:iam::123456789012:role/path/r",
            "iam",
            "role/",
            false,
        )
        .unwrap();
        assert_eq!(role.resource, "role/path/r");
        for bad in [
            "arn:aws:rolesanywhere::123456789012:trust-anchor/abc",
            "arn:aws:rolesanywhere:us-east-1:12345678901:trust-anchor/abc",
            "arn:aws:rolesanywhere:us-east-1:123456789012:profile/abc",
            "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/",
            "arn:aws:iam:us-east-1:123456789012:trust-anchor/abc",
            "nope",
        ] {
            assert!(
                parse_arn(bad, "rolesanywhere", "trust-anchor/", true).is_err(),
                "{bad}"
            );
        }
        assert!(
            parse_arn(
                "arn:aws:iam:us-east-1:123456789012:role/r",
                "iam",
                "role/",
                false
            )
            .is_err()
        );
    }

    #[test]
    fn checks_role_session_names() {
        assert!(valid_role_session_name("ci-job_42@example.com"));
        assert!(!valid_role_session_name("x"));
        assert!(!valid_role_session_name("has space"));
        assert!(!valid_role_session_name(&"a".repeat(65)));
    }
}
