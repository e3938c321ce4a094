//! The endpoint's life: binding ([`BoundEndpoint`]), serving on a background thread
//! ([`start`], [`RunningEndpoint`]) or until a signal ([`serve_until_signal`]).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rolesanywhere_verifier::verify::{self, VerifierConfig};
use rolesanywhere_verifier::{VerificationRecord, chain};

use crate::config::{EndpointConfig, FaultPlan};
use crate::error::{Error, Result};
use crate::shared::{EndpointControl, Shared};
use crate::{handler, tls};

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
        let shared = Arc::new(Shared::new(
            verifier,
            config.clock_offset,
            config.faults,
            config.answer_fault,
            log,
        ));
        Ok(BoundEndpoint {
            listener,
            local_addr,
            tls: server_tls.config,
            tls_ca_pem: server_tls.ca_pem,
            control: EndpointControl { shared },
        })
    }

    /// The address bound (with the port picked when port 0 was asked for).
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

    /// A cloneable handle on the records and faults.
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
                        tokio::spawn(handler::connection(stream, remote, acceptor.clone(), self.control.shared.clone()));
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
    /// The address it listens on.
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

    /// Forgets the records kept in memory (the request log keeps them).
    pub fn clear_records(&self) {
        self.control.clear_records()
    }

    /// Replaces the fault plan of the running endpoint.
    pub fn set_faults(&self, faults: FaultPlan) {
        self.control.set_faults(faults)
    }

    /// The fault plan as it stands (counts already used up are gone).
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{Authority, CertSpec, GeneratedKey, KeyKind};

    const TA: &str = "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/ta";
    const PROFILE: &str = "arn:aws:rolesanywhere:us-east-1:123456789012:profile/p";
    const ROLE: &str = "arn:aws:iam::123456789012:role/r";

    #[test]
    fn binds_loopback_only_and_shuts_down() {
        let root = Authority::root("Root").unwrap();
        let mut config = EndpointConfig::new(
            root.cert_pem().as_bytes(),
            TA,
            PROFILE,
            vec![ROLE.to_string()],
        );
        config.listen = "0.0.0.0:0".parse().unwrap();
        assert!(matches!(
            start(config.clone()),
            Err(Error::InvalidArgument { .. })
        ));
        config.listen = "[::1]:0".parse().unwrap();
        if let Ok(endpoint) = start(config.clone()) {
            assert!(endpoint.url().starts_with("https://[::1]:"));
        }
        config.listen = "127.0.0.1:0".parse().unwrap();
        config.role_arns = vec!["arn:aws:iam::123456789012:user/u".into()];
        assert!(matches!(
            start(config.clone()),
            Err(Error::InvalidArgument { .. })
        ));
        config.role_arns = vec![ROLE.into()];
        config.trust_anchor_ca_pem = b"not a certificate".to_vec();
        assert!(matches!(start(config.clone()), Err(Error::BadInput { .. })));
        // A leaf is no trust anchor.
        let key = GeneratedKey::generate(KeyKind::EcP256).unwrap();
        let leaf = root
            .issue(&CertSpec::leaf("test client"), &key.spki_der)
            .unwrap();
        config.trust_anchor_ca_pem = leaf.pem.into_bytes();
        assert!(matches!(start(config.clone()), Err(Error::BadInput { .. })));

        config.trust_anchor_ca_pem = root.cert_pem().into_bytes();
        let endpoint = start(config).unwrap();
        let addr = endpoint.local_addr();
        assert!(std::net::TcpStream::connect(addr).is_ok());
        endpoint.shutdown();
        assert!(std::net::TcpStream::connect(addr).is_err());
    }
}
