//! SigV4 for STS, by `aws-sigv4`, with the session's credentials (its token included).

use std::time::SystemTime;

use crate::error::{Error, Result};
use crate::session::answer::Credentials;
use crate::settings::endpoint::Endpoint;

/// The SigV4 headers (`authorization`, `x-amz-date`, `x-amz-security-token`) for a POST of `body`
/// to `endpoint`'s root, for STS in `region`, as of `time`. The `Host` header signed is the one
/// reqwest sends (the URL's host, and its port when it is not the scheme's default).
pub(super) fn sign(
    endpoint: &Endpoint,
    region: &str,
    body: &[u8],
    content_type: &str,
    credentials: &Credentials,
    time: SystemTime,
) -> Result<Vec<(&'static str, String)>> {
    use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings};
    let failed =
        |e: &dyn std::fmt::Display| Error::Internal(format!("signing the STS request: {e}"));
    let identity = aws_credential_types::Credentials::new(
        credentials.access_key_id.as_str(),
        credentials.secret_access_key.as_str(),
        Some(credentials.session_token.clone()),
        None,
        "rolesanywhere",
    )
    .into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(time)
        .settings(SigningSettings::default())
        .build()
        .map_err(|e| failed(&e))?
        .into();
    let request = SignableRequest::new(
        "POST",
        endpoint.url.as_str(),
        [
            ("host", endpoint.host_header.as_str()),
            ("content-type", content_type),
        ]
        .into_iter(),
        SignableBody::Bytes(body),
    )
    .map_err(|e| failed(&e))?;
    let (instructions, _signature) = aws_sigv4::http_request::sign(request, &params)
        .map_err(|e| failed(&e))?
        .into_parts();
    let (headers, _query) = instructions.into_parts();
    Ok(headers
        .into_iter()
        .map(|header| (header.name(), header.value().to_string()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::endpoint;

    #[test]
    fn signs_with_the_session_token_and_the_host_sent() {
        let endpoint = endpoint::parse("test", "http://127.0.0.1:5000").unwrap();
        let credentials = Credentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: "secret".into(),
            session_token: "token".into(),
            expiration: time::OffsetDateTime::UNIX_EPOCH,
        };
        let headers = sign(
            &endpoint,
            "us-east-1",
            b"Action=GetCallerIdentity&Version=2011-06-15",
            "application/x-www-form-urlencoded; charset=utf-8",
            &credentials,
            SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000),
        )
        .unwrap();
        let get = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("x-amz-date"), Some("20270115T080000Z"));
        assert_eq!(get("x-amz-security-token"), Some("token"));
        let authorization = get("authorization").unwrap();
        assert!(
            authorization.starts_with(
                "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20270115/us-east-1/sts/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature="
            ),
            "{authorization}"
        );
        assert!(!authorization.contains("secret"));
    }
}
