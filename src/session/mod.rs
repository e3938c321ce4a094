//! The CreateSession client: sends the signed request over rustls, retries throttling, 5xx and
//! connection failures with jittered exponential backoff (each attempt signed afresh), and gives
//! up at an overall deadline so a command never hangs.

pub mod answer;
mod direct;
pub mod prepared;
pub mod sts;
pub mod tls;

use std::time::Instant;

use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::error::{Error, Result, ServiceError};
use crate::settings::client::{ClientOptions, RetryPolicy};
use crate::settings::endpoint::Endpoint;
use crate::sigv4x509::SignedRequest;
use answer::{Credentials, SessionInfo, parse_create_session};

/// A client bound to one endpoint.
pub struct SessionClient {
    /// Built on first use: the first attempt needs it only when a proxy applies.
    http: std::sync::OnceLock<reqwest::Client>,
    /// The HTTP client's TLS settings, for the connection opened ahead of the first request.
    tls: std::sync::Arc<rustls::ClientConfig>,
    /// No proxy applies: the first attempt's connection can open before its request is signed.
    direct: bool,
    endpoint: Endpoint,
    retry: RetryPolicy,
}

/// The first attempt's request, being prepared and signed on another thread.
pub type PendingRequest = tokio::sync::oneshot::Receiver<Result<SignedRequest>>;

const USER_AGENT: &str = concat!("rolesanywhere-helper/", env!("CARGO_PKG_VERSION"));

/// The largest answer body read: a CreateSession answer is a few kilobytes, an error one less.
/// A larger body (a `Content-Length` of 2 GB, a chunked body without end) is refused at once,
/// so memory stays bounded whatever the endpoint sends.
pub const MAX_ANSWER_BODY: usize = 1024 * 1024;

/// The error for an answer body larger than [`MAX_ANSWER_BODY`]: an unusable answer, not retried.
fn body_too_large(endpoint: &reqwest::Url, declared: Option<u64>) -> Error {
    let size = match declared {
        Some(length) => format!("announced a body of {length} bytes"),
        None => "sent a body".to_string(),
    };
    Error::Unavailable(format!(
        "CreateSession answered with an unusable body: {endpoint} {size}, more than the {} KiB an answer can be; check --endpoint",
        MAX_ANSWER_BODY / 1024
    ))
}

/// Reads a reqwest answer's body, refusing one larger than [`MAX_ANSWER_BODY`] as soon as it is
/// announced or read. `Ok(Err(problem))` is a transport failure worth retrying.
async fn read_bounded(
    mut response: reqwest::Response,
    endpoint: &reqwest::Url,
) -> Result<std::result::Result<Zeroizing<Vec<u8>>, String>> {
    let declared = response.content_length();
    if declared.is_some_and(|length| length > MAX_ANSWER_BODY as u64) {
        return Err(body_too_large(endpoint, declared));
    }
    let mut body = Zeroizing::new(Vec::new());
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_ANSWER_BODY {
                    return Err(body_too_large(endpoint, declared));
                }
                // Reserve first: growing by reallocation would leave unzeroized copies behind.
                if body.capacity() < body.len() + chunk.len() {
                    let mut bigger = Zeroizing::new(Vec::with_capacity(
                        (body.len() + chunk.len())
                            .max(body.capacity() * 2)
                            .min(MAX_ANSWER_BODY),
                    ));
                    bigger.extend_from_slice(&body);
                    body = bigger;
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(Ok(body)),
            Err(e) => return Ok(Err(describe_transport_error(&e, endpoint))),
        }
    }
}

/// The outcome of one attempt.
enum Attempt {
    Done(Credentials, SessionInfo),
    Retry(String),
}

impl SessionClient {
    /// A client for `endpoint`; the TLS settings are built now, the HTTP client on first use.
    pub fn new(endpoint: Endpoint, options: &ClientOptions) -> Result<SessionClient> {
        let tls = crate::session::tls::client_config(
            options.no_verify_ssl,
            options.ca_bundle.as_deref(),
        )?;
        Ok(SessionClient {
            http: std::sync::OnceLock::new(),
            tls: std::sync::Arc::new(tls),
            direct: direct::applies(&endpoint),
            endpoint,
            retry: options.retry,
        })
    }

    /// The endpoint it calls.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    fn http(&self) -> Result<&reqwest::Client> {
        if let Some(http) = self.http.get() {
            return Ok(http);
        }
        let http = tls::http_client(
            rustls::ClientConfig::clone(&self.tls),
            &self.endpoint,
            &self.retry,
        )?;
        Ok(self.http.get_or_init(|| http))
    }

    /// Reaches the endpoint once (name resolution, TCP, TLS verification, HTTP) without asking
    /// for anything, and returns the server's clock from its `Date` header, if it sent one.
    pub async fn probe(&self) -> Result<Option<OffsetDateTime>> {
        let response = self
            .http()?
            .get(self.endpoint.url.clone())
            .send()
            .await
            .map_err(|e| Error::Unavailable(describe_transport_error(&e, &self.endpoint.url)))?;
        Ok(response
            .headers()
            .get("date")
            .and_then(|v| v.to_str().ok())
            .and_then(parse_http_date))
    }

    /// Calls CreateSession. `sign` builds a freshly signed request for the given time, once per
    /// attempt, so a retried request never carries a stale date; `first`, when given, is the
    /// first attempt's, signed on another thread while the connection opens.
    pub async fn create_session(
        &self,
        sign: &dyn Fn(OffsetDateTime) -> Result<SignedRequest>,
        first: Option<PendingRequest>,
    ) -> Result<(Credentials, SessionInfo)> {
        let started = Instant::now();
        let deadline = self.retry.deadline;
        match tokio::time::timeout(deadline, self.attempts(sign, first)).await {
            Ok(result) => result,
            Err(_) => Err(Error::Unavailable(format!(
                "no answer from {} within {}s; check the endpoint and the network, or try again",
                self.endpoint.url,
                started.elapsed().as_secs()
            ))),
        }
    }

    async fn attempts(
        &self,
        sign: &dyn Fn(OffsetDateTime) -> Result<SignedRequest>,
        mut first: Option<PendingRequest>,
    ) -> Result<(Credentials, SessionInfo)> {
        let mut last_problem = String::new();
        for attempt in 1..=self.retry.max_attempts {
            if attempt > 1 {
                wait_before_retry(&self.retry, attempt, "CreateSession").await;
            }
            let outcome = if attempt == 1 && self.direct {
                self.direct_attempt(sign, first.take()).await?
            } else {
                let request = signed(sign, first.take()).await?;
                self.attempt(&request, attempt).await?
            };
            match outcome {
                Attempt::Done(credentials, info) => return Ok((credentials, info)),
                Attempt::Retry(problem) => last_problem = problem,
            }
        }
        Err(Error::Unavailable(format!(
            "CreateSession failed after {} attempts: {last_problem}",
            self.retry.max_attempts
        )))
    }

    /// The first attempt over a connection that opens while `pending` is signed.
    async fn direct_attempt(
        &self,
        sign: &dyn Fn(OffsetDateTime) -> Result<SignedRequest>,
        pending: Option<PendingRequest>,
    ) -> Result<Attempt> {
        let deadline = tokio::time::Instant::now() + self.retry.attempt_timeout;
        let connecting = direct::connect(&self.endpoint, self.tls.clone(), deadline);
        let (connection, request) = match pending {
            Some(mut pending) => {
                tokio::pin!(connecting);
                // A request that cannot be made (a bad certificate, a key that fails) ends the
                // wait at once, however long the connection would take.
                tokio::select! {
                    connection = &mut connecting => (connection, received(pending.await)?),
                    request = &mut pending => {
                        let request = received(request)?;
                        (connecting.await, request)
                    }
                }
            }
            None => (connecting.await, sign(OffsetDateTime::now_utc())?),
        };
        self.trace_request(&request, 1);
        let sent = Instant::now();
        let answer = match connection {
            Ok(connection) => {
                connection
                    .exchange(&self.endpoint, &request, USER_AGENT, deadline)
                    .await
            }
            Err(failure) => Err(failure),
        };
        match answer {
            Ok(answer) => self.interpret(answer, 1, sent),
            Err(direct::Failure::TooLarge(declared)) => {
                Err(body_too_large(&self.endpoint.url, declared))
            }
            Err(direct::Failure::Untrusted(problem)) => Err(untrusted(problem)),
            Err(direct::Failure::Retry(problem)) => {
                tracing::debug!(
                    attempt = 1,
                    elapsed_ms = sent.elapsed().as_millis() as u64,
                    "{problem}"
                );
                Ok(Attempt::Retry(problem))
            }
        }
    }

    fn trace_request(&self, request: &SignedRequest, attempt: u32) {
        tracing::debug!(attempt, endpoint = %self.endpoint.url, "canonical request:\n{}", request.canonical_request);
        tracing::debug!("string to sign:\n{}", request.string_to_sign);
    }

    async fn attempt(&self, request: &SignedRequest, attempt: u32) -> Result<Attempt> {
        let url = self
            .endpoint
            .url
            .join(&request.path_and_query)
            .map_err(|e| Error::Internal(format!("request URL: {e}")))?;
        self.trace_request(request, attempt);
        let mut builder = self.http()?.post(url.clone());
        for (name, value) in &request.headers {
            // reqwest derives Host from the URL, byte for byte what was signed.
            if !name.eq_ignore_ascii_case("host") {
                builder = builder.header(name.as_str(), value.as_str());
            }
        }
        let sent = Instant::now();
        let response = match builder.body(request.body.clone()).send().await {
            Ok(response) => response,
            Err(e) => {
                let problem = describe_transport_error(&e, &self.endpoint.url);
                if untrusted_certificate(&e) {
                    return Err(untrusted(problem));
                }
                tracing::debug!(
                    attempt,
                    elapsed_ms = sent.elapsed().as_millis() as u64,
                    "{problem}"
                );
                return Ok(Attempt::Retry(problem));
            }
        };
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let request_id = header("x-amzn-requestid");
        let error_type = header("x-amzn-errortype");
        let body = match read_bounded(response, &self.endpoint.url).await? {
            Ok(body) => body,
            Err(problem) => return Ok(Attempt::Retry(problem)),
        };
        let answer = direct::Answer {
            status,
            request_id,
            error_type,
            body,
        };
        self.interpret(answer, attempt, sent)
    }

    /// Credentials, a problem worth retrying, or a refusal.
    fn interpret(&self, answer: direct::Answer, attempt: u32, sent: Instant) -> Result<Attempt> {
        let direct::Answer {
            status,
            request_id,
            error_type,
            body,
        } = answer;
        tracing::debug!(attempt, status, elapsed_ms = sent.elapsed().as_millis() as u64, request_id = ?request_id, "CreateSession answered");
        if (200..300).contains(&status) {
            let (credentials, mut info) = parse_create_session(&body)?;
            info.request_id = request_id;
            return Ok(Attempt::Done(credentials, info));
        }
        let error = service_error(status, error_type.as_deref(), &body, request_id);
        if status == 429 || status >= 500 || error.error_type.contains("Throttling") {
            return Ok(Attempt::Retry(error.to_string()));
        }
        let advice = advice_for(&error);
        Err(Error::Denied { error, advice })
    }
}

/// The request signed on the other thread, or signed now when there is none.
async fn signed(
    sign: &dyn Fn(OffsetDateTime) -> Result<SignedRequest>,
    pending: Option<PendingRequest>,
) -> Result<SignedRequest> {
    match pending {
        Some(pending) => received(pending.await),
        None => sign(OffsetDateTime::now_utc()),
    }
}

fn received(
    outcome: std::result::Result<Result<SignedRequest>, tokio::sync::oneshot::error::RecvError>,
) -> Result<SignedRequest> {
    outcome.unwrap_or_else(|_| Err(Error::Internal("signing the request failed".into())))
}

fn describe_transport_error(error: &reqwest::Error, endpoint: &reqwest::Url) -> String {
    use std::error::Error as _;
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    describe_failure(kind, endpoint, error.source().map(innermost_message))
}

/// Whether `error`'s chain holds rustls's verdict that the server's certificate is not trusted
/// (unknown issuer, bad signature, not valid for the name, expired, …). Such a failure is the
/// same on every attempt, so it is never retried. An `io::Error` hides the error it wraps from
/// `source()`, so that one is looked into as well.
fn untrusted_certificate(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(error) = next {
        if let Some(rustls::Error::InvalidCertificate(_)) = error.downcast_ref::<rustls::Error>() {
            return true;
        }
        if let Some(inner) = error
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
            && untrusted_certificate(inner)
        {
            return true;
        }
        next = error.source();
    }
    false
}

/// The error of an untrusted server certificate, with what to do about it.
fn untrusted(problem: String) -> Error {
    Error::Unavailable(format!(
        "{problem}; the endpoint's TLS certificate is not trusted (not retried): check --endpoint, and if a private CA issued the certificate, give that CA's PEM file in AWS_CA_BUNDLE; `rolesanywhere-helper doctor` checks the setup"
    ))
}

/// How a failed attempt is told, whichever client met it: `{kind} to {endpoint}: {cause}`.
fn describe_failure(kind: &str, endpoint: &reqwest::Url, cause: Option<String>) -> String {
    match cause.filter(|cause| !cause.is_empty()) {
        Some(cause) => format!("{kind} to {endpoint}: {cause}"),
        None => format!("{kind} to {endpoint}"),
    }
}

/// The message of the innermost error of `error`'s chain, `error` itself when it has no source:
/// the one that says what happened (`Connection refused`, `invalid peer certificate: …`).
fn innermost_message(error: &dyn std::error::Error) -> String {
    let mut innermost = error;
    while let Some(source) = innermost.source() {
        innermost = source;
    }
    innermost.to_string()
}

/// Parses an HTTP date (`Thu, 26 Nov 2026 08:00:00 GMT`).
pub fn parse_http_date(value: &str) -> Option<OffsetDateTime> {
    let format = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    time::PrimitiveDateTime::parse(value.trim(), &format)
        .ok()
        .map(|t| t.assume_utc())
}

/// Reads the error type and message from the headers and JSON body AWS services use.
pub fn service_error(
    status: u16,
    type_header: Option<&str>,
    body: &[u8],
    request_id: Option<String>,
) -> ServiceError {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
    let text = |keys: &[&str]| {
        keys.iter()
            .find_map(|k| json.get(*k).and_then(|v| v.as_str()).map(str::to_string))
    };
    // `X-Amzn-ErrorType: AccessDeniedException:http://internal.amazon.com/...` and
    // `"__type": "com.amazonaws#AccessDeniedException"` both carry the bare name.
    let clean = |raw: &str| {
        let raw = raw.split(':').next().unwrap_or(raw);
        raw.rsplit('#').next().unwrap_or(raw).to_string()
    };
    let error_type = type_header
        .map(clean)
        .or_else(|| text(&["__type", "code", "Code"]).map(|t| clean(&t)))
        .unwrap_or_else(|| format!("HTTP{status}"));
    let message = text(&["message", "Message"]).unwrap_or_else(|| {
        let raw = String::from_utf8_lossy(body);
        raw.chars().filter(|c| !c.is_control()).take(200).collect()
    });
    ServiceError {
        status,
        error_type,
        message,
        request_id,
    }
}

/// What a user should do about a refusal.
pub fn advice_for(error: &ServiceError) -> String {
    let message = error.message.to_ascii_lowercase();
    match error.error_type.as_str() {
        "AccessDeniedException" if message.contains("untrusted") => {
            "the certificate does not chain to the trust anchor's CA: check --trust-anchor-arn and pass the issuing CAs with --intermediates".into()
        }
        "AccessDeniedException" if message.contains("signature") => {
            "check that the system clock is right and that --private-key belongs to --certificate".into()
        }
        "AccessDeniedException" if message.contains("rolesessionname") || message.contains("role session") => {
            "the profile does not allow --role-session-name; enable it on the profile or drop the flag".into()
        }
        "AccessDeniedException" => {
            "check that the role trusts rolesanywhere.amazonaws.com, the profile lists the role, and both are enabled".into()
        }
        "ValidationException" => "check the ARNs, --session-duration and --role-session-name".into(),
        "ResourceNotFoundException" => {
            "check that the trust anchor, profile and role exist in that account and region".into()
        }
        _ => "see the service's message above".into(),
    }
}

/// Waits before attempt `attempt` (2 and later) of `what`: the policy's jittered backoff.
pub(crate) async fn wait_before_retry(retry: &RetryPolicy, attempt: u32, what: &str) {
    let wait = retry.backoff(attempt - 1, crate::support::random::fraction());
    tracing::debug!(
        attempt,
        wait_ms = wait.as_millis() as u64,
        "retrying {what}"
    );
    tokio::time::sleep(wait).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_that_cannot_be_signed_ends_the_wait_for_the_connection() {
        // A server that accepts and never answers: the TLS handshake would wait for the
        // attempt's 10 s timeout.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("https://{}", silent.local_addr().unwrap());
        let endpoint = crate::settings::endpoint::resolve(
            "us-east-1",
            Some(&url),
            &crate::settings::endpoint::EndpointEnv {
                use_fips: false,
                use_dualstack: false,
                endpoint_url: None,
            },
        )
        .unwrap();
        let client = SessionClient::new(endpoint, &ClientOptions::default()).unwrap();
        assert!(client.direct);
        let (first_request, pending) = tokio::sync::oneshot::channel();
        first_request
            .send(Err(Error::bad_input(
                "--private-key k",
                "the token refused",
            )))
            .unwrap();
        let never = |_: OffsetDateTime| -> Result<SignedRequest> { unreachable!() };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let started = Instant::now();
        let outcome = runtime.block_on(client.create_session(&never, Some(pending)));
        assert!(
            matches!(&outcome, Err(Error::BadInput { problem, .. }) if problem == "the token refused"),
            "{outcome:?}"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        drop(silent);
    }

    #[test]
    fn parses_http_dates() {
        assert_eq!(
            parse_http_date("Thu, 26 Nov 2026 08:00:05 GMT"),
            Some(time::macros::datetime!(2026-11-26 08:00:05 UTC))
        );
        assert_eq!(parse_http_date("yesterday"), None);
    }

    #[test]
    fn reads_error_type_from_header_or_body() {
        let e = service_error(
            403,
            Some("AccessDeniedException:http://internal"),
            br#"{"message":"Untrusted signing certificate"}"#,
            None,
        );
        assert_eq!(e.error_type, "AccessDeniedException");
        assert_eq!(e.message, "Untrusted signing certificate");
        assert!(advice_for(&e).contains("--intermediates"));
        let e = service_error(
            400,
            None,
            br#"{"__type":"com.amazonaws#ValidationException","Message":"bad"}"#,
            Some("r1".into()),
        );
        assert_eq!(e.error_type, "ValidationException");
        assert_eq!(
            e.to_string(),
            "HTTP 400 ValidationException: bad (request id r1)"
        );
        let e = service_error(502, None, b"<html>bad gateway</html>", None);
        assert_eq!(e.error_type, "HTTP502");
    }
}
