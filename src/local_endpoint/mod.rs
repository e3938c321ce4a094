//! A local IAM Roles Anywhere endpoint: the verifying side of CreateSession (DESIGN §1), over
//! HTTPS on a loopback address, for the demo, the tests and users' own CI.
//!
//! It checks what the real service checks: the `X-Amz-Date` and the clock skew, the
//! `Authorization` header and its credential scope, the signed headers, the certificate chain up
//! to the configured trust anchor CAs, and the SigV4-X509 signature over a canonical request it
//! rebuilds with its own code (module `canonical`) and verifies with a different implementation
//! from the signer's (ring; the `p521` crate's verifier for P-521). It answers as the service
//! does, with worthless random credentials, and keeps a [`VerificationRecord`] of every request.
//!
//! In process: [`start`] runs it on a background thread and returns a [`RunningEndpoint`].
//! As a command: `rolesanywhere-helper local-endpoint` ([`run_cli`]).

mod tls;

use std::collections::VecDeque;
use std::future::Future;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, DATE, HeaderName, HeaderValue};
use hyper::{Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use time::OffsetDateTime;

pub use rolesanywhere_verifier::{DEFAULT_MAX_CLOCK_SKEW, Outcome, VerificationRecord};
pub use tls::TlsIdentity;

use crate::cli::LocalEndpointArgs;
use crate::error::{Error, Result};
use rolesanywhere_verifier::chain;
use rolesanywhere_verifier::response::{self, ErrorReply};
use rolesanywhere_verifier::verify::{self, Request, VerifierConfig};

/// Records kept in memory; older ones are dropped (the request log keeps them all).
pub const MAX_RECORDS_IN_MEMORY: usize = 10_000;

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

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

/// What the endpoint trusts, where it listens, and how it misbehaves.
#[derive(Debug, Clone)]
pub struct EndpointConfig {
    /// PEM bundle (or one DER certificate) of the trust anchor's CA certificates.
    pub trust_anchor_ca_pem: Vec<u8>,
    pub trust_anchor_arn: String,
    pub profile_arn: String,
    /// The roles the profile allows.
    pub role_arns: Vec<String>,
    /// A loopback address; port 0 picks a free port.
    pub listen: SocketAddr,
    /// The TLS server identity; `None` makes a throwaway one (see [`RunningEndpoint::tls_ca_pem`]).
    pub tls: Option<TlsIdentity>,
    pub max_clock_skew: Duration,
    /// Added to the system clock to give the endpoint's clock (to test clients' skew handling).
    pub clock_offset: time::Duration,
    pub faults: FaultPlan,
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
            request_log: None,
        }
    }
}

/// The state request handlers share with the handles.
struct Shared {
    verifier: VerifierConfig,
    clock_offset: time::Duration,
    faults: Mutex<FaultPlan>,
    records: Mutex<VecDeque<VerificationRecord>>,
    log: Option<(PathBuf, Mutex<std::fs::File>)>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What the next request gets from the fault plan.
enum FaultAction {
    None,
    Drop,
    Fail(u16),
}

impl Shared {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc() + self.clock_offset
    }

    fn take_fault(&self) -> (Duration, FaultAction) {
        let mut plan = lock(&self.faults);
        let action = if plan.drop_next > 0 {
            plan.drop_next -= 1;
            FaultAction::Drop
        } else if plan.fail_next > 0 {
            plan.fail_next -= 1;
            FaultAction::Fail(plan.fail_status)
        } else {
            FaultAction::None
        };
        (plan.delay, action)
    }

    fn push(&self, record: VerificationRecord) {
        if let Some((path, file)) = &self.log {
            let written = serde_json::to_string(&record)
                .map_err(std::io::Error::other)
                .and_then(|line| {
                    let mut file = lock(file);
                    file.write_all(format!("{line}\n").as_bytes())?;
                    file.flush()
                });
            if let Err(e) = written {
                tracing::warn!("cannot write the request log {}: {e}", path.display());
            }
        }
        let mut records = lock(&self.records);
        if records.len() >= MAX_RECORDS_IN_MEMORY {
            records.pop_front();
        }
        records.push_back(record);
    }
}

/// A cloneable handle on a bound or running endpoint: its records and its faults.
#[derive(Clone)]
pub struct EndpointControl {
    shared: Arc<Shared>,
}

impl EndpointControl {
    /// The verification records so far, oldest first (at most [`MAX_RECORDS_IN_MEMORY`]).
    pub fn records(&self) -> Vec<VerificationRecord> {
        lock(&self.shared.records).iter().cloned().collect()
    }

    pub fn clear_records(&self) {
        lock(&self.shared.records).clear();
    }

    /// Replaces the fault plan; takes effect from the next request.
    pub fn set_faults(&self, faults: FaultPlan) {
        *lock(&self.shared.faults) = faults;
    }

    /// The fault plan as it stands (counts already used up are gone).
    pub fn faults(&self) -> FaultPlan {
        *lock(&self.shared.faults)
    }
}

/// An endpoint bound to its address, ready to [`serve`](BoundEndpoint::serve).
pub struct BoundEndpoint {
    listener: std::net::TcpListener,
    local_addr: SocketAddr,
    tls: Arc<rustls::ServerConfig>,
    tls_ca_pem: Option<String>,
    control: EndpointControl,
}

impl BoundEndpoint {
    /// Checks the configuration, prepares TLS, opens the request log and binds the address.
    pub fn bind(config: EndpointConfig) -> Result<BoundEndpoint> {
        if !config.listen.ip().is_loopback() {
            return Err(Error::invalid_argument(
                "--listen",
                format!(
                    "{} is not a loopback address; the local endpoint listens on 127.0.0.0/8 or ::1 only",
                    config.listen
                ),
            ));
        }
        let trust_anchor = verify::parse_arn(
            &config.trust_anchor_arn,
            "rolesanywhere",
            "trust-anchor/",
            true,
        )
        .map_err(|e| Error::invalid_argument("--trust-anchor-arn", e))?;
        verify::parse_arn(&config.profile_arn, "rolesanywhere", "profile/", true)
            .map_err(|e| Error::invalid_argument("--profile-arn", e))?;
        if config.role_arns.is_empty() {
            return Err(Error::invalid_argument(
                "--role-arn",
                "give at least one role ARN",
            ));
        }
        for role in &config.role_arns {
            verify::parse_arn(role, "iam", "role/", false)
                .map_err(|e| Error::invalid_argument("--role-arn", e))?;
        }
        let anchors = chain::load_anchors(&config.trust_anchor_ca_pem)
            .map_err(|e| Error::bad_input("--ca-bundle", e))?;
        let fail_status = config.faults.fail_status;
        if !(400..=599).contains(&fail_status) {
            return Err(Error::invalid_argument(
                "--fail-status",
                format!("{fail_status} is not a 4xx or 5xx status"),
            ));
        }
        let server_tls = tls::server_tls(config.tls.as_ref())?;
        let log = match &config.request_log {
            Some(path) => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| {
                        Error::bad_input(
                            format!("--request-log {}", path.display()),
                            format!("cannot open: {e}"),
                        )
                    })?;
                Some((path.clone(), Mutex::new(file)))
            }
            None => None,
        };
        let listener = std::net::TcpListener::bind(config.listen).map_err(|e| {
            Error::bad_input(
                format!("--listen {}", config.listen),
                format!("cannot listen: {e}"),
            )
        })?;
        listener
            .set_nonblocking(true)
            .map_err(|e| Error::Internal(format!("listening socket: {e}")))?;
        let local_addr = listener
            .local_addr()
            .map_err(|e| Error::Internal(format!("listening socket: {e}")))?;
        let verifier = VerifierConfig {
            anchors,
            trust_anchor_arn: config.trust_anchor_arn,
            profile_arn: config.profile_arn,
            role_arns: config.role_arns,
            region: trust_anchor.region,
            account: trust_anchor.account,
            max_clock_skew: config.max_clock_skew,
        };
        let shared = Arc::new(Shared {
            verifier,
            clock_offset: config.clock_offset,
            faults: Mutex::new(config.faults),
            records: Mutex::new(VecDeque::new()),
            log,
        });
        Ok(BoundEndpoint {
            listener,
            local_addr,
            tls: server_tls.config,
            tls_ca_pem: server_tls.ca_pem,
            control: EndpointControl { shared },
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `https://127.0.0.1:PORT` (`https://[::1]:PORT` on IPv6).
    pub fn url(&self) -> String {
        format!("https://{}", self.local_addr)
    }

    /// The PEM of the throwaway TLS CA clients must trust; `None` with a given TLS identity.
    pub fn tls_ca_pem(&self) -> Option<&str> {
        self.tls_ca_pem.as_deref()
    }

    pub fn control(&self) -> EndpointControl {
        self.control.clone()
    }

    /// Accepts connections until `shutdown` completes. Must run inside a tokio runtime with I/O
    /// and time enabled; connections still open when it returns end with the runtime.
    pub async fn serve(self, shutdown: impl Future<Output = ()>) -> Result<()> {
        let listener = tokio::net::TcpListener::from_std(self.listener)
            .map_err(|e| Error::Internal(format!("listening socket: {e}")))?;
        let acceptor = tokio_rustls::TlsAcceptor::from(self.tls);
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return Ok(()),
                accepted = listener.accept() => match accepted {
                    Ok((stream, remote)) => {
                        tokio::spawn(connection(stream, remote, acceptor.clone(), self.control.shared.clone()));
                    }
                    Err(e) => {
                        // Out of file descriptors and the like: wait rather than spin.
                        tracing::warn!("local endpoint: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
            }
        }
    }
}

/// An endpoint serving on a background thread; shut down by [`shutdown`](Self::shutdown) or on drop.
pub struct RunningEndpoint {
    local_addr: SocketAddr,
    tls_ca_pem: Option<String>,
    control: EndpointControl,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Binds and starts serving on a background thread with its own tokio runtime.
pub fn start(config: EndpointConfig) -> Result<RunningEndpoint> {
    let bound = BoundEndpoint::bind(config)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("starting the async runtime: {e}")))?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (local_addr, tls_ca_pem, control) =
        (bound.local_addr, bound.tls_ca_pem.clone(), bound.control());
    let thread = std::thread::Builder::new()
        .name("local-endpoint".into())
        .spawn(move || {
            let served = runtime.block_on(bound.serve(async {
                // A dropped sender also stops the endpoint.
                let _ = stopped.await;
            }));
            if let Err(e) = served {
                tracing::error!("local endpoint stopped: {e}");
            }
        })
        .map_err(|e| Error::Internal(format!("starting the endpoint thread: {e}")))?;
    Ok(RunningEndpoint {
        local_addr,
        tls_ca_pem,
        control,
        stop: Some(stop),
        thread: Some(thread),
    })
}

impl RunningEndpoint {
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://{}", self.local_addr)
    }

    /// The throwaway TLS CA's PEM (trust it through `AWS_CA_BUNDLE` or
    /// `ClientOptions::ca_bundle`); `None` when a TLS identity was given.
    pub fn tls_ca_pem(&self) -> Option<&str> {
        self.tls_ca_pem.as_deref()
    }

    /// The verification records so far, oldest first.
    pub fn records(&self) -> Vec<VerificationRecord> {
        self.control.records()
    }

    pub fn clear_records(&self) {
        self.control.clear_records()
    }

    /// Replaces the fault plan of the running endpoint.
    pub fn set_faults(&self, faults: FaultPlan) {
        self.control.set_faults(faults)
    }

    pub fn faults(&self) -> FaultPlan {
        self.control.faults()
    }

    /// A cloneable handle on the records and faults.
    pub fn control(&self) -> EndpointControl {
        self.control.clone()
    }

    /// Stops accepting, ends open connections and waits for the thread.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for RunningEndpoint {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Serves one connection: TLS handshake, then HTTP/1.1 requests until the client closes.
async fn connection(
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
        time: crate::output::iso8601(now),
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
                record.expiration = Some(crate::output::iso8601(issued.expiration));
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

/// Serves until SIGINT or SIGTERM. The handlers are installed before `on_ready` runs, so a
/// signal sent once the caller sees the endpoint ready always stops it cleanly.
pub async fn serve_until_signal(
    bound: BoundEndpoint,
    on_ready: impl FnOnce(&BoundEndpoint) -> Result<()>,
) -> Result<()> {
    let signal_error =
        |e: std::io::Error| Error::Internal(format!("installing signal handlers: {e}"));
    #[cfg(unix)]
    let shutdown = {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt()).map_err(signal_error)?;
        let mut terminate = signal(SignalKind::terminate()).map_err(signal_error)?;
        async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        }
    };
    #[cfg(not(unix))]
    let shutdown = {
        let _ = signal_error;
        async {
            let _ = tokio::signal::ctrl_c().await;
        }
    };
    on_ready(&bound)?;
    bound.serve(shutdown).await
}

/// Writes `contents` to `path` atomically: a temporary file in the same directory, then rename.
pub fn write_atomically(path: &Path, contents: &[u8], flag: &str) -> Result<()> {
    let input = format!("{flag} {}", path.display());
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::bad_input(&input, "is not a file path"))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(file_name);
    temp_name.push(format!(".tmp.{}", std::process::id()));
    let temp = path.with_file_name(temp_name);
    let written = std::fs::write(&temp, contents).and_then(|()| std::fs::rename(&temp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(Error::bad_input(&input, format!("cannot write: {e}")));
    }
    Ok(())
}

/// The configuration the `local-endpoint` flags describe.
pub fn config_from_args(args: &LocalEndpointArgs) -> Result<EndpointConfig> {
    let ca = crate::input_file::read(&args.ca_bundle, "--ca-bundle")?;
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsIdentity {
            cert_chain_pem: crate::input_file::read(cert, "--tls-cert")?,
            key_pem: crate::input_file::read_secret(key, "--tls-key")?,
        }),
        (None, None) => None,
        (Some(_), None) => {
            return Err(Error::invalid_argument(
                "--tls-key",
                "is required with --tls-cert",
            ));
        }
        (None, Some(_)) => {
            return Err(Error::invalid_argument(
                "--tls-cert",
                "is required with --tls-key",
            ));
        }
    };
    if tls.is_some() && args.write_tls_ca.is_some() {
        return Err(Error::invalid_argument(
            "--write-tls-ca",
            "only a generated TLS certificate has a CA to write; drop --tls-cert/--tls-key or --write-tls-ca",
        ));
    }
    let mut config = EndpointConfig::new(
        ca,
        &args.trust_anchor_arn,
        &args.profile_arn,
        args.role_arns.clone(),
    );
    config.listen = args.listen;
    config.tls = tls;
    config.max_clock_skew = Duration::from_secs(args.max_clock_skew);
    config.clock_offset = time::Duration::seconds(args.clock_offset);
    config.request_log = args.request_log.clone();
    config.faults = FaultPlan {
        fail_next: args.fail_next,
        fail_status: args.fail_status,
        drop_next: args.drop_next,
        delay: Duration::from_millis(args.delay_ms),
    };
    Ok(config)
}

/// `local-endpoint`: binds, writes `--write-tls-ca` then `--ready-file`, prints the URL on
/// stderr, and serves until SIGINT or SIGTERM.
pub fn run_cli(args: &LocalEndpointArgs) -> Result<()> {
    let config = config_from_args(args)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("starting the async runtime: {e}")))?;
    let bound = BoundEndpoint::bind(config)?;
    runtime.block_on(serve_until_signal(bound, |bound| {
        if let Some(path) = &args.write_tls_ca {
            let pem = bound.tls_ca_pem().unwrap_or_default();
            write_atomically(path, pem.as_bytes(), "--write-tls-ca")?;
        }
        if let Some(path) = &args.ready_file {
            write_atomically(
                path,
                format!("{}\n", bound.url()).as_bytes(),
                "--ready-file",
            )?;
        }
        eprintln!(
            "rolesanywhere-helper local-endpoint: listening on {}",
            bound.url()
        );
        Ok(())
    }))
}

#[cfg(test)]
mod tests;
