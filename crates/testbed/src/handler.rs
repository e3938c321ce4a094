//! One connection and each request on it: the TLS handshake, HTTP/1.1, the verifier's verdict,
//! the fault plan, the answer with AWS's headers, and the request's record.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, DATE, HeaderName, HeaderValue};
use hyper::{Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use rolesanywhere_verifier::response::{self, ErrorReply};
use rolesanywhere_verifier::verify::{self, Request};
use rolesanywhere_verifier::{Outcome, VerificationRecord, iso8601};
use time::OffsetDateTime;

use crate::config::{AnswerFault, FaultAction};
use crate::shared::Shared;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves one connection: TLS handshake, then HTTP/1.1 requests until the client closes.
pub(crate) async fn connection(
    stream: tokio::net::TcpStream,
    remote: SocketAddr,
    acceptor: tokio_rustls::TlsAcceptor,
    shared: Arc<Shared>,
) {
    let _ = stream.set_nodelay(true);
    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            tracing::debug!(%remote, "TLS handshake failed: {e}");
            return;
        }
        Err(_) => {
            tracing::debug!(%remote, "TLS handshake timed out");
            return;
        }
    };
    let service = hyper::service::service_fn(move |request| {
        let shared = shared.clone();
        async move { handle(request, remote, &shared).await }
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    if let Err(e) = http.serve_connection(TokioIo::new(tls), service).await {
        tracing::debug!(%remote, "connection ended: {e}");
    }
}

/// The error a handler returns to make hyper close the connection without an answer.
#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped by an injected fault")
    }
}

impl std::error::Error for DropConnection {}

/// Verifies and answers one request, as the fault plan allows, and records it.
async fn handle(
    request: hyper::Request<Incoming>,
    remote: SocketAddr,
    shared: &Shared,
) -> std::result::Result<Response<AnswerBody>, DropConnection> {
    let now = shared.now();
    let request_id =
        response::random_uuid().unwrap_or_else(|_| "00000000-0000-4000-8000-000000000000".into());
    let (parts, body) = request.into_parts();
    let mut record = VerificationRecord {
        time: iso8601(now),
        request_id: request_id.clone(),
        remote_addr: remote.to_string(),
        method: parts.method.as_str().to_string(),
        path: parts.uri.path().to_string(),
        ..Default::default()
    };

    let mut headers = Vec::with_capacity(parts.headers.len());
    let mut bad_header = None;
    for (name, value) in &parts.headers {
        match value.to_str() {
            Ok(v) => headers.push((name.as_str().to_string(), v.to_string())),
            Err(_) => bad_header = Some(name.as_str().to_string()),
        }
    }
    let body = match Limited::new(body, verify::MAX_BODY).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(ErrorReply::new(
            413,
            "ValidationException",
            format!("the body is larger than {} bytes", verify::MAX_BODY),
        )),
        Err(e) => Err(ErrorReply::validation(format!("cannot read the body: {e}"))),
    };

    let (delay, fault) = shared.take_fault();
    let verdict = match (&body, bad_header) {
        (Err(e), _) => Err(e.clone()),
        (_, Some(name)) => Err(ErrorReply::validation(format!(
            "header {name} has a value that is not visible ASCII"
        ))),
        (Ok(body), None) => {
            let req = Request {
                method: parts.method.as_str(),
                path: parts.uri.path(),
                query: parts.uri.query(),
                headers: &headers,
                body,
            };
            verify::verify(&req, &shared.verifier, now, &mut record)
        }
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }

    let reply = match fault {
        FaultAction::Drop => {
            record.outcome = Outcome::Dropped;
            tracing::debug!(%remote, request_id, "dropping the connection (injected fault)");
            shared.push(record);
            return Err(DropConnection);
        }
        FaultAction::Fail(status) => {
            record.outcome = Outcome::FaultInjected;
            Err(match status {
                429 => ErrorReply::for_status(status, "Rate exceeded (injected fault)"),
                503 => ErrorReply::for_status(status, "Service unavailable (injected fault)"),
                _ => ErrorReply::for_status(status, format!("HTTP {status} (injected fault)")),
            })
        }
        FaultAction::None => match verdict {
            Ok(grant) => {
                let answer_fault = shared.answer_fault();
                if let AnswerFault::EndlessBody { declared_length } = answer_fault {
                    record.outcome = Outcome::FaultInjected;
                    record.status = Some(201);
                    tracing::debug!(%remote, request_id, "answering with an endless body (injected fault)");
                    shared.push(record);
                    return Ok(endless_response(&request_id, now, declared_length));
                }
                let mut grant = grant;
                if let AnswerFault::ShortLife { seconds } = answer_fault {
                    grant.duration_seconds = seconds;
                }
                response::issue(&grant, now)
                    .and_then(|issued| spoil(issued, &answer_fault))
                    .inspect(|issued| {
                        record.outcome = Outcome::Issued;
                        record.access_key_id = Some(issued.access_key_id.clone());
                        record.expiration = Some(iso8601(issued.expiration));
                    })
            }
            Err(e) => {
                record.outcome = Outcome::Rejected;
                Err(e)
            }
        },
    };
    let (status, error_type, body) = match reply {
        Ok(issued) => (201, None, issued.body),
        Err(e) => {
            record.error_type = Some(e.error_type.clone());
            record.error_message = Some(e.message.clone());
            (e.status, Some(e.error_type.clone()), e.body())
        }
    };
    record.status = Some(status);
    tracing::debug!(
        %remote,
        request_id,
        status,
        error = record.error_message.as_deref().unwrap_or(""),
        "CreateSession answered"
    );
    shared.push(record);
    Ok(build_response(
        status,
        error_type.as_deref(),
        &request_id,
        now,
        body,
    ))
}

/// An issued answer with the values an [`AnswerFault::IssueCredentials`] chose put in place of
/// the random ones; the answer as issued otherwise.
fn spoil(
    mut issued: response::Issued,
    fault: &AnswerFault,
) -> std::result::Result<response::Issued, ErrorReply> {
    let AnswerFault::IssueCredentials {
        access_key_id,
        secret_access_key,
        session_token,
    } = fault
    else {
        return Ok(issued);
    };
    let internal =
        |e: serde_json::Error| ErrorReply::for_status(500, format!("spoiling the answer: {e}"));
    let mut document: serde_json::Value = serde_json::from_slice(&issued.body).map_err(internal)?;
    let credentials = &mut document["credentialSet"][0]["credentials"];
    credentials["accessKeyId"] = access_key_id.as_str().into();
    credentials["secretAccessKey"] = secret_access_key.as_str().into();
    credentials["sessionToken"] = session_token.as_str().into();
    issued.body = serde_json::to_vec(&document).map_err(internal)?;
    issued.access_key_id = access_key_id.clone();
    Ok(issued)
}

/// The body of an answer: the whole of it, or one that goes on (the endless-body fault).
pub(crate) enum AnswerBody {
    /// A body in memory.
    Full(Full<Bytes>),
    /// JSON whitespace, `remaining` bytes more (without end when `None`).
    Endless {
        /// What is left to send of the announced length.
        remaining: Option<u64>,
    },
}

/// What an endless body sends at a time.
const ENDLESS_CHUNK: usize = 64 * 1024;
static SPACES: [u8; ENDLESS_CHUNK] = [b' '; ENDLESS_CHUNK];

impl hyper::body::Body for AnswerBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<std::result::Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        match self.get_mut() {
            AnswerBody::Full(full) => std::pin::Pin::new(full).poll_frame(cx),
            AnswerBody::Endless { remaining } => {
                let n = match remaining {
                    Some(0) => return std::task::Poll::Ready(None),
                    Some(left) => usize::try_from(*left)
                        .unwrap_or(ENDLESS_CHUNK)
                        .min(ENDLESS_CHUNK),
                    None => ENDLESS_CHUNK,
                };
                if let Some(left) = remaining {
                    *left -= n as u64;
                }
                std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(Bytes::from_static(
                    &SPACES[..n],
                )))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            AnswerBody::Full(full) => full.is_end_stream(),
            AnswerBody::Endless { remaining } => *remaining == Some(0),
        }
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        match self {
            AnswerBody::Full(full) => full.size_hint(),
            AnswerBody::Endless {
                remaining: Some(left),
            } => hyper::body::SizeHint::with_exact(*left),
            AnswerBody::Endless { remaining: None } => hyper::body::SizeHint::default(),
        }
    }
}

/// A 201 whose body is `declared_length` bytes of whitespace (chunked and endless when `None`).
fn endless_response(
    request_id: &str,
    now: OffsetDateTime,
    declared_length: Option<u64>,
) -> Response<AnswerBody> {
    let mut response = build_response(201, None, request_id, now, Vec::new());
    *response.body_mut() = AnswerBody::Endless {
        remaining: declared_length,
    };
    let headers = response.headers_mut();
    headers.remove(hyper::header::CONTENT_LENGTH);
    if let Some(length) = declared_length {
        headers.insert(hyper::header::CONTENT_LENGTH, HeaderValue::from(length));
    }
    response
}

/// The answer with the headers the service sends: content type, request id, error type, date.
fn build_response(
    status: u16,
    error_type: Option<&str>,
    request_id: &str,
    now: OffsetDateTime,
    body: Vec<u8>,
) -> Response<AnswerBody> {
    let mut response = Response::new(AnswerBody::Full(Full::new(Bytes::from(body))));
    *response.status_mut() =
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let mut set = |name: &'static str, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    };
    set("x-amzn-requestid", request_id);
    if let Some(error_type) = error_type {
        set("x-amzn-errortype", error_type);
    }
    if let Ok(date) = HeaderValue::from_str(&http_date(now)) {
        headers.insert(DATE, date);
    }
    response
}

/// `Wed, 26 Nov 2025 07:00:00 GMT` (RFC 9110 IMF-fixdate), from the endpoint's clock.
fn http_date(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[usize::from(t.weekday().number_days_from_monday())],
        t.day(),
        MONTHS[usize::from(u8::from(t.month()) - 1)],
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_http_dates() {
        assert_eq!(
            http_date(time::macros::datetime!(2025-11-26 07:05:09 UTC)),
            "Wed, 26 Nov 2025 07:05:09 GMT"
        );
    }
}
