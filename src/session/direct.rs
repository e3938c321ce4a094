//! A connection to the endpoint opened before the request it will carry exists: TCP (with happy
//! eyeballs), TLS with the same rustls configuration as the HTTP client, and HTTP/1.1. While it
//! opens, the request is signed on another thread, so the key's work (an RSA signature, a token
//! or TPM round trip) overlaps the network's. Used for the first attempt when no proxy applies.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioIo;
use tokio::time::Instant;
use tower_service::Service;

use crate::settings::endpoint::Endpoint;
use crate::sigv4x509::SignedRequest;

/// What the endpoint answered: the parts CreateSession's handling reads.
pub(super) struct Answer {
    pub status: u16,
    pub request_id: Option<String>,
    pub error_type: Option<String>,
    pub body: zeroize::Zeroizing<Vec<u8>>,
}

/// Why an exchange gave no answer.
pub(super) enum Failure {
    /// A transport failure, told in the HTTP client's words: worth another attempt.
    Retry(String),
    /// The body is larger than [`super::MAX_ANSWER_BODY`] (its announced length, if any).
    TooLarge(Option<u64>),
    /// The server's TLS certificate is not trusted: another attempt would fail the same way.
    Untrusted(String),
}

/// An open HTTP/1.1 connection, ready for one request.
pub(super) struct Connection {
    sender: SendRequest<Full<Bytes>>,
}

/// True when a request to `endpoint` would go straight to it: HTTPS and no proxy from the
/// environment (the same `HTTPS_PROXY`/`ALL_PROXY`/`NO_PROXY` rules the HTTP client applies).
pub(super) fn applies(endpoint: &Endpoint) -> bool {
    if endpoint.url.scheme() != "https" {
        return false;
    }
    if endpoint.is_loopback {
        return true;
    }
    match endpoint.url.as_str().parse::<hyper::Uri>() {
        Ok(uri) => hyper_util::client::proxy::matcher::Matcher::from_env()
            .intercept(&uri)
            .is_none(),
        Err(_) => false,
    }
}

/// Opens the connection, or says why it could not, in the HTTP client's words: a
/// [`Failure::Retry`], or [`Failure::Untrusted`] when the server's certificate is not trusted.
pub(super) async fn connect(
    endpoint: &Endpoint,
    tls: Arc<rustls::ClientConfig>,
    deadline: Instant,
) -> Result<Connection, Failure> {
    match open(endpoint, tls, deadline).await {
        Ok(connection) => Ok(connection),
        Err((problem, true)) => Err(Failure::Untrusted(problem)),
        Err((problem, false)) => Err(Failure::Retry(problem)),
    }
}

/// [`connect`]'s work: the problem, and whether it is an untrusted server certificate.
async fn open(
    endpoint: &Endpoint,
    tls: Arc<rustls::ClientConfig>,
    deadline: Instant,
) -> Result<Connection, (String, bool)> {
    let url = &endpoint.url;
    let failed = |kind: &str, cause: &dyn std::error::Error| (describe(kind, url, cause), false);
    let server_name = match url.host() {
        Some(url::Host::Domain(name)) => rustls::pki_types::ServerName::try_from(name.to_string())
            .map_err(|e| failed("could not connect", &e))?,
        Some(url::Host::Ipv4(ip)) => std::net::IpAddr::V4(ip).into(),
        Some(url::Host::Ipv6(ip)) => std::net::IpAddr::V6(ip).into(),
        None => return Err((format!("could not connect to {url}: no host"), false)),
    };
    let uri: hyper::Uri = url
        .as_str()
        .parse()
        .map_err(|e| failed("could not connect", &e))?;
    let opening = async {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        let stream = tcp
            .call(uri)
            .await
            .map_err(|e| failed("could not connect", &e))?
            .into_inner();
        let stream = tokio_rustls::TlsConnector::from(tls)
            .connect(server_name, stream)
            .await
            .map_err(|e| {
                let untrusted = super::untrusted_certificate(&e);
                (describe("could not connect", url, &e), untrusted)
            })?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| failed("could not connect", &e))?;
        tokio::spawn(connection);
        Ok(Connection { sender })
    };
    tokio::time::timeout_at(deadline, opening)
        .await
        .unwrap_or_else(|_| Err((format!("timed out to {url}"), false)))
}

impl Connection {
    /// Sends `request` and reads the whole answer, at most [`super::MAX_ANSWER_BODY`] of it.
    pub(super) async fn exchange(
        mut self,
        endpoint: &Endpoint,
        request: &SignedRequest,
        user_agent: &str,
        deadline: Instant,
    ) -> Result<Answer, Failure> {
        let url = &endpoint.url;
        let failed =
            |cause: &dyn std::error::Error| Failure::Retry(describe("request failed", url, cause));
        let mut builder = hyper::Request::post(request.path_and_query.as_str());
        // Host included: the headers are byte for byte what was signed.
        for (name, value) in &request.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        let http_request = builder
            .header("user-agent", user_agent)
            .body(Full::new(Bytes::from(request.body.clone())))
            .map_err(|e| failed(&e))?;
        let exchange = async {
            let response = self
                .sender
                .send_request(http_request)
                .await
                .map_err(|e| failed(&e))?;
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            let status = response.status().as_u16();
            let request_id = header("x-amzn-requestid");
            let error_type = header("x-amzn-errortype");
            let declared = header("content-length").and_then(|v| v.trim().parse::<u64>().ok());
            if declared.is_some_and(|length| length > super::MAX_ANSWER_BODY as u64) {
                return Err(Failure::TooLarge(declared));
            }
            let body = match Limited::new(response.into_body(), super::MAX_ANSWER_BODY)
                .collect()
                .await
            {
                Ok(collected) => collected.to_bytes(),
                Err(e) if e.is::<LengthLimitError>() => return Err(Failure::TooLarge(declared)),
                Err(e) => {
                    return Err(Failure::Retry(describe_boxed("request failed", url, &*e)));
                }
            };
            Ok(Answer {
                status,
                request_id,
                error_type,
                body: zeroize::Zeroizing::new(body.to_vec()),
            })
        };
        tokio::time::timeout_at(deadline, exchange)
            .await
            .unwrap_or_else(|_| Err(Failure::Retry(format!("timed out to {url}"))))
    }
}

/// [`describe`] for the boxed errors of `http-body-util`'s combinators.
fn describe_boxed(
    kind: &str,
    url: &reqwest::Url,
    error: &(dyn std::error::Error + Send + Sync),
) -> String {
    super::describe_failure(kind, url, Some(super::innermost_message(error)))
}

/// `{kind} to {url}: {innermost cause}`, as the HTTP client's errors are told.
fn describe(kind: &str, url: &reqwest::Url, error: &dyn std::error::Error) -> String {
    super::describe_failure(kind, url, Some(super::innermost_message(error)))
}
