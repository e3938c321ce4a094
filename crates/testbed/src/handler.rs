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

use crate::config::FaultAction;
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
) -> std::result::Result<Response<Full<Bytes>>, DropConnection> {
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
            Ok(grant) => response::issue(&grant, now).inspect(|issued| {
                record.outcome = Outcome::Issued;
                record.access_key_id = Some(issued.access_key_id.clone());
                record.expiration = Some(iso8601(issued.expiration));
            }),
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

/// The answer with the headers the service sends: content type, request id, error type, date.
fn build_response(
    status: u16,
    error_type: Option<&str>,
    request_id: &str,
    now: OffsetDateTime,
    body: Vec<u8>,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
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
