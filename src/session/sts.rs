//! STS with the credentials a session yielded: `GetCallerIdentity`, signed with SigV4 by
//! `aws-sigv4`, sent over the same rustls configuration as CreateSession (`AWS_CA_BUNDLE`,
//! `--no-verify-ssl`), to the regional STS endpoint or the one the user names
//! (`--sts-endpoint`, `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`).

use std::time::{Instant, SystemTime};

use serde::Serialize;

use super::answer::Credentials;
use crate::error::{Error, Result, ServiceError};
use crate::settings::client::ClientOptions;
use crate::settings::endpoint::{self, Endpoint, EndpointVariables};
use crate::settings::session::partition_of_region;

/// The STS API version of every query action.
const VERSION: &str = "2011-06-15";

/// Who the credentials are, as STS says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallerIdentity {
    /// The account ID.
    pub account: String,
    /// The ARN (for Roles Anywhere, `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`).
    pub arn: String,
    /// The unique ID (`AROA…:SESSION` for a role session).
    pub user_id: String,
}

/// The STS endpoint settings of the environment, kept apart so resolution stays pure.
pub type StsEnv = EndpointVariables;

/// Reads the STS endpoint settings: `AWS_ENDPOINT_URL_STS`, else `AWS_ENDPOINT_URL`, and the
/// FIPS and dual-stack switches.
pub fn sts_env_from_process() -> Result<StsEnv> {
    EndpointVariables::read(&["AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"])
}

/// The STS endpoint for `region`: `explicit` (`--sts-endpoint`), else the environment's URL, else
/// the regional endpoint of the region's partition, with the FIPS and dual-stack variants.
pub fn resolve_endpoint(region: &str, explicit: Option<&str>, env: &StsEnv) -> Result<Endpoint> {
    if let Some(url) = explicit.filter(|u| !u.trim().is_empty()) {
        return endpoint::parse("--sts-endpoint", url);
    }
    if let Some((name, url)) = &env.endpoint_url {
        return endpoint::parse(name, url);
    }
    let partition = partition_of_region(region);
    let (suffix, dualstack_suffix) = match partition {
        "aws-cn" => ("amazonaws.com.cn", "api.amazonwebservices.com.cn"),
        "aws-iso" => ("c2s.ic.gov", "c2s.ic.gov"),
        "aws-iso-b" => ("sc2s.sgov.gov", "sc2s.sgov.gov"),
        "aws-iso-e" => ("cloud.adc-e.uk", "cloud.adc-e.uk"),
        "aws-iso-f" => ("csp.hci.ic.gov", "csp.hci.ic.gov"),
        "aws-eusc" => ("amazonaws.eu", "amazonaws.eu"),
        _ => ("amazonaws.com", "api.aws"),
    };
    // GovCloud's regional STS endpoints are FIPS endpoints already, under the plain name.
    let service = if env.use_fips && partition != "aws-us-gov" {
        "sts-fips"
    } else {
        "sts"
    };
    let domain = if env.use_dualstack {
        dualstack_suffix
    } else {
        suffix
    };
    endpoint::parse("region", &format!("https://{service}.{region}.{domain}"))
}

/// What a user should make of an STS error code, as a Roles Anywhere user meets it.
pub fn explain(code: &str) -> &'static str {
    match code {
        "InvalidClientTokenId" => {
            "STS does not know this access key: the credentials were not issued by this AWS partition (a local or test Roles Anywhere endpoint, or an STS endpoint of another partition), or the session token was cut short"
        }
        "SignatureDoesNotMatch" => {
            "the request's signature did not verify: something between here and STS (a proxy) changed the request, or the STS endpoint is not the one the request was signed for (--sts-endpoint, AWS_ENDPOINT_URL_STS)"
        }
        "AccessDenied" | "AccessDeniedException" => {
            "GetCallerIdentity needs no IAM permission, so something in front of STS refused it: a VPC endpoint policy or an organisation's network controls"
        }
        "ExpiredToken" | "ExpiredTokenException" => {
            "the session expired before STS saw it: check this machine's clock and --session-duration"
        }
        "RegionDisabledException" => {
            "STS is not activated in this region for the account: activate it in the IAM account settings, or name an active region's endpoint with --sts-endpoint"
        }
        _ => "see STS's message",
    }
}

/// The largest STS answer read (the same bound as CreateSession's).
const MAX_BODY: usize = super::MAX_ANSWER_BODY;

/// An STS client bound to one endpoint and region.
pub struct StsClient {
    http: reqwest::Client,
    endpoint: Endpoint,
    region: String,
    retry: crate::settings::client::RetryPolicy,
}

impl StsClient {
    /// A client for `endpoint`, signing for `region`, over the TLS settings of `options`.
    pub fn new(endpoint: Endpoint, region: &str, options: &ClientOptions) -> Result<StsClient> {
        let tls = super::tls::client_config(options.no_verify_ssl, options.ca_bundle.as_deref())?;
        let mut builder = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .user_agent(super::USER_AGENT)
            .connect_timeout(options.retry.attempt_timeout)
            .timeout(options.retry.attempt_timeout)
            .http1_only()
            .pool_max_idle_per_host(1);
        // A loopback endpoint never goes through a proxy; others follow HTTPS_PROXY / NO_PROXY.
        if endpoint.is_loopback {
            builder = builder.no_proxy();
        }
        let http = builder
            .build()
            .map_err(|e| Error::Internal(format!("HTTP client setup: {e}")))?;
        Ok(StsClient {
            http,
            endpoint,
            region: region.to_string(),
            retry: options.retry,
        })
    }

    /// The endpoint it calls.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// `sts:GetCallerIdentity` with `credentials`.
    pub async fn get_caller_identity(&self, credentials: &Credentials) -> Result<CallerIdentity> {
        let body = self.call("GetCallerIdentity", &[], credentials).await?;
        parse_caller_identity(&body)
    }

    /// One STS query action, retried on throttling, 5xx and transport failures (each attempt
    /// signed afresh) within the retry policy's deadline. The answer body on success.
    async fn call(
        &self,
        action: &'static str,
        params: &[(&str, &str)],
        credentials: &Credentials,
    ) -> Result<Vec<u8>> {
        let started = Instant::now();
        match tokio::time::timeout(
            self.retry.deadline,
            self.attempts(action, params, credentials),
        )
        .await
        {
            Ok(result) => result,
            Err(_) => Err(Error::Unavailable(format!(
                "sts:{action}: no answer from {} within {}s; check --sts-endpoint and the network, or try again",
                self.endpoint.url,
                started.elapsed().as_secs()
            ))),
        }
    }

    async fn attempts(
        &self,
        action: &'static str,
        params: &[(&str, &str)],
        credentials: &Credentials,
    ) -> Result<Vec<u8>> {
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        form.append_pair("Action", action);
        form.append_pair("Version", VERSION);
        for (name, value) in params {
            form.append_pair(name, value);
        }
        let body = form.finish();
        let mut last_problem = String::new();
        for attempt in 1..=self.retry.max_attempts {
            if attempt > 1 {
                super::wait_before_retry(&self.retry, attempt, &format!("sts:{action}")).await;
            }
            match self.attempt(action, &body, credentials).await? {
                Ok(answer) => return Ok(answer),
                Err(problem) => last_problem = problem,
            }
        }
        Err(Error::Unavailable(format!(
            "sts:{action} failed after {} attempts: {last_problem}",
            self.retry.max_attempts
        )))
    }

    /// One signed request: the answer, a problem worth retrying, or a refusal.
    async fn attempt(
        &self,
        action: &'static str,
        body: &str,
        credentials: &Credentials,
    ) -> Result<std::result::Result<Vec<u8>, String>> {
        const CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";
        let headers = sign(
            &self.endpoint,
            &self.region,
            body.as_bytes(),
            CONTENT_TYPE,
            credentials,
            SystemTime::now(),
        )?;
        let mut request = self
            .http
            .post(self.endpoint.url.clone())
            .header("content-type", CONTENT_TYPE);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let sent = Instant::now();
        let response = match request.body(body.to_string()).send().await {
            Ok(response) => response,
            Err(e) => {
                let problem = super::describe_transport_error(&e, &self.endpoint.url);
                tracing::debug!(elapsed_ms = sent.elapsed().as_millis() as u64, "{problem}");
                return Ok(Err(problem));
            }
        };
        let status = response.status().as_u16();
        let request_id = response
            .headers()
            .get("x-amzn-requestid")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = match super::read_bounded(response, &self.endpoint.url).await {
            Ok(Ok(body)) => body,
            Ok(Err(problem)) => return Ok(Err(problem)),
            Err(_) => {
                return Err(Error::Unavailable(format!(
                    "sts:{action}: {} sent an answer larger than {} KiB; check --sts-endpoint",
                    self.endpoint.url,
                    MAX_BODY / 1024
                )));
            }
        };
        tracing::debug!(status, elapsed_ms = sent.elapsed().as_millis() as u64, request_id = ?request_id, "sts:{action} answered");
        if (200..300).contains(&status) {
            return Ok(Ok(body.to_vec()));
        }
        let error = service_error(status, &body, request_id);
        if status == 429 || status >= 500 || error.error_type.contains("Throttling") {
            return Ok(Err(error.to_string()));
        }
        let explanation = explain(&error.error_type).to_string();
        Err(Error::StsDenied {
            action,
            error,
            explanation,
        })
    }
}

/// The SigV4 headers (`authorization`, `x-amz-date`, `x-amz-security-token`) for a POST of `body`
/// to `endpoint`'s root, for STS in `region`, as of `time`. The `Host` header signed is the one
/// reqwest sends (the URL's host, and its port when it is not the scheme's default).
fn sign(
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

/// The text of the first `<tag>…</tag>` element of `xml` (with or without a namespace prefix),
/// its entities decoded; `None` when there is none.
fn element(xml: &str, tag: &str) -> Option<String> {
    let mut rest = xml;
    loop {
        let open = rest.find('<')?;
        rest = &rest[open + 1..];
        let name_end = rest.find(['>', ' ', '/', '\t', '\r', '\n'])?;
        let name = &rest[..name_end];
        let local = name.rsplit(':').next().unwrap_or(name);
        if local != tag {
            continue;
        }
        let start = rest.find('>')?;
        if rest[..start].ends_with('/') {
            return Some(String::new());
        }
        let content = &rest[start + 1..];
        let close = format!("</{name}>");
        let end = content.find(&close)?;
        return Some(decode_entities(content[..end].trim()));
    }
}

/// XML's five named entities and numeric character references; anything else is kept as is.
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let Some(semi) = tail.find(';').filter(|&i| i <= 10) else {
            out.push('&');
            rest = &tail[1..];
            continue;
        };
        let entity = &tail[1..semi];
        let decoded = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .or_else(|| entity.strip_prefix("#X"))
                .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) => {
                out.push(c);
                rest = &tail[semi + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Parses a GetCallerIdentity answer.
pub fn parse_caller_identity(body: &[u8]) -> Result<CallerIdentity> {
    let unusable = |why: &str| {
        Error::Unavailable(format!(
            "sts:GetCallerIdentity answered with an unusable body: {why}; check --sts-endpoint"
        ))
    };
    let xml = std::str::from_utf8(body).map_err(|_| unusable("not UTF-8"))?;
    let result = element(xml, "GetCallerIdentityResult")
        .ok_or_else(|| unusable("no GetCallerIdentityResult"))?;
    // The result's fields hold no markup, so reading them from the decoded result is exact.
    let field = |name: &str| {
        element(&result, name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| unusable(&format!("no {name}")))
    };
    let identity = CallerIdentity {
        account: field("Account")?,
        arn: field("Arn")?,
        user_id: field("UserId")?,
    };
    if !identity.arn.starts_with("arn:") {
        return Err(unusable("the Arn is not an ARN"));
    }
    Ok(identity)
}

/// Reads an STS (query protocol) error answer:
/// `<ErrorResponse><Error><Code>…</Code><Message>…</Message></Error><RequestId>…`.
pub fn service_error(status: u16, body: &[u8], request_id: Option<String>) -> ServiceError {
    let xml = String::from_utf8_lossy(body);
    let error = element(&xml, "Error").unwrap_or_default();
    let code = element(&error, "Code").filter(|c| !c.is_empty());
    let message = match element(&error, "Message") {
        Some(message) => message,
        None if code.is_none() => xml.chars().filter(|c| !c.is_control()).take(200).collect(),
        None => String::new(),
    };
    ServiceError {
        status,
        error_type: code.unwrap_or_else(|| format!("HTTP{status}")),
        message,
        request_id: request_id.or_else(|| element(&xml, "RequestId").filter(|r| !r.is_empty())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(region: &str, env: &StsEnv) -> String {
        resolve_endpoint(region, None, env).unwrap().url.to_string()
    }

    #[test]
    fn resolves_regional_fips_and_dualstack_endpoints_of_every_partition() {
        let plain = StsEnv::default();
        let fips = StsEnv {
            use_fips: true,
            ..Default::default()
        };
        let dual = StsEnv {
            use_dualstack: true,
            ..Default::default()
        };
        assert_eq!(
            host("us-east-1", &plain),
            "https://sts.us-east-1.amazonaws.com/"
        );
        assert_eq!(
            host("eu-west-3", &plain),
            "https://sts.eu-west-3.amazonaws.com/"
        );
        assert_eq!(
            host("us-east-2", &fips),
            "https://sts-fips.us-east-2.amazonaws.com/"
        );
        assert_eq!(host("us-east-1", &dual), "https://sts.us-east-1.api.aws/");
        assert_eq!(
            host("cn-north-1", &plain),
            "https://sts.cn-north-1.amazonaws.com.cn/"
        );
        assert_eq!(
            host("cn-northwest-1", &dual),
            "https://sts.cn-northwest-1.api.amazonwebservices.com.cn/"
        );
        assert_eq!(
            host("us-gov-west-1", &fips),
            "https://sts.us-gov-west-1.amazonaws.com/"
        );
        assert_eq!(
            host("us-iso-east-1", &plain),
            "https://sts.us-iso-east-1.c2s.ic.gov/"
        );
    }

    #[test]
    fn the_flag_wins_over_the_environment_which_wins_over_the_region() {
        let env = StsEnv {
            endpoint_url: Some(("AWS_ENDPOINT_URL_STS", "http://127.0.0.1:5000".into())),
            ..Default::default()
        };
        let from_env = resolve_endpoint("us-east-1", None, &env).unwrap();
        assert_eq!(from_env.url.as_str(), "http://127.0.0.1:5000/");
        assert!(from_env.is_loopback);
        let flag = resolve_endpoint("us-east-1", Some("sts.example:8443"), &env).unwrap();
        assert_eq!(flag.url.as_str(), "https://sts.example:8443/");
        assert_eq!(flag.host_header, "sts.example:8443");
        let bad = resolve_endpoint("us-east-1", Some("ftp://x"), &env).unwrap_err();
        assert_eq!(bad.exit_code(), 2);
        assert!(bad.to_string().starts_with("--sts-endpoint:"), "{bad}");
        let env = StsEnv {
            endpoint_url: Some(("AWS_ENDPOINT_URL", "ftp://x".into())),
            ..Default::default()
        };
        let bad = resolve_endpoint("us-east-1", None, &env).unwrap_err();
        assert!(bad.to_string().starts_with("AWS_ENDPOINT_URL:"), "{bad}");
    }

    #[test]
    fn parses_a_get_caller_identity_answer() {
        let body =
            br#"<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>arn:aws:sts::123456789012:assumed-role/R&amp;D/session</Arn>
    <UserId>AROAEXAMPLE:session</UserId>
    <Account>123456789012</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>01234567-89ab</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>"#;
        assert_eq!(
            parse_caller_identity(body).unwrap(),
            CallerIdentity {
                account: "123456789012".into(),
                arn: "arn:aws:sts::123456789012:assumed-role/R&D/session".into(),
                user_id: "AROAEXAMPLE:session".into(),
            }
        );
        for bad in [
            &b"<html>gateway</html>"[..],
            b"<GetCallerIdentityResult><Arn>x</Arn><UserId>u</UserId><Account>1</Account></GetCallerIdentityResult>",
            b"<GetCallerIdentityResult><Arn>arn:a</Arn><Account>1</Account></GetCallerIdentityResult>",
            b"<GetCallerIdentityResult><Arn>arn:a</Arn>",
            b"\xff\xfe",
        ] {
            let e = parse_caller_identity(bad).unwrap_err();
            assert_eq!(e.exit_code(), 5, "{e}");
        }
    }

    #[test]
    fn reads_an_sts_error_and_explains_it() {
        let body = br#"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error>
    <Type>Sender</Type>
    <Code>InvalidClientTokenId</Code>
    <Message>The security token included in the request is invalid.</Message>
  </Error>
  <RequestId>req-1</RequestId>
</ErrorResponse>"#;
        let error = service_error(403, body, None);
        assert_eq!(error.error_type, "InvalidClientTokenId");
        assert_eq!(error.request_id.as_deref(), Some("req-1"));
        let denied = Error::StsDenied {
            action: "GetCallerIdentity",
            explanation: explain(&error.error_type).into(),
            error,
        };
        assert_eq!(denied.exit_code(), 4);
        let line = denied.to_string();
        assert!(
            line.starts_with("sts:GetCallerIdentity was refused: HTTP 403 InvalidClientTokenId: The security token included in the request is invalid. (request id req-1); STS does not know this access key"),
            "{line}"
        );
        for code in [
            "SignatureDoesNotMatch",
            "AccessDenied",
            "ExpiredToken",
            "RegionDisabledException",
        ] {
            assert_ne!(explain(code), explain("Unknown"), "{code}");
        }
        let garbage = service_error(502, b"<html>bad\ngateway</html>", None);
        assert_eq!(garbage.error_type, "HTTP502");
        assert!(!garbage.message.contains('\n'));
    }

    #[test]
    fn extracts_elements_robustly() {
        assert_eq!(element("<a:B x='1'>v</a:B>", "B").as_deref(), Some("v"));
        assert_eq!(element("<Bx>no</Bx><B/>", "B").as_deref(), Some(""));
        assert_eq!(element("<B>unclosed", "B"), None);
        assert_eq!(decode_entities("&lt;&#65;&#x42;&bogus;&"), "<AB&bogus;&");
    }

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
