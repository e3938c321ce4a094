//! `serve`: always-fresh credentials for every SDK on the host, over IMDSv2 and a
//! container-credentials endpoint, from one background refresher.
//!
//! Loopback only by default; a `--bind` address beyond loopback serves only the
//! token-authenticated container path. Stops cleanly on SIGTERM/SIGINT and tells systemd it is
//! ready once it holds credentials.

mod cache;
mod connections;
mod documents;
#[cfg(feature = "fuzzing")]
pub(crate) mod fuzzing;
mod routes;
mod throttle;
mod tokens;

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue, RETRY_AFTER};
use hyper_util::rt::{TokioIo, TokioTimer};
use zeroize::Zeroizing;

pub use cache::{CredentialCache, Snapshot};
use connections::Connections;
pub use routes::CONTAINER_PATH;
use routes::{Answer, Peer, Routes};

use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::settings::daemon::ServeSettings;

const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The role name and account of `arn:aws:iam::ACCOUNT:role/[path/]NAME`.
fn role_name_and_account(role_arn: &str) -> Result<(String, String)> {
    let parts: Vec<&str> = role_arn.splitn(6, ':').collect();
    let (Some(account), Some(resource)) = (parts.get(4), parts.get(5)) else {
        return Err(Error::invalid_argument(
            "--role-arn",
            "is not an IAM role ARN",
        ));
    };
    let name = resource
        .strip_prefix("role/")
        .and_then(|r| r.rsplit('/').next())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| Error::invalid_argument("--role-arn", "is not an IAM role ARN"))?;
    Ok((name.to_string(), account.to_string()))
}

/// The container token: `--container-token` / its environment variable (checked with the
/// settings), else 32 random bytes.
fn container_token(settings: &ServeSettings) -> Result<Zeroizing<String>> {
    match &settings.container_token {
        Some(token) => Ok(token.clone()),
        None => tokens::random_token(),
    }
}

/// True when binding failed because the host has no IPv6 (not because the port is taken).
fn means_no_ipv6(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::AddrNotAvailable | std::io::ErrorKind::Unsupported
    ) || error.raw_os_error() == Some(libc::EAFNOSUPPORT)
}

/// The IP TTL / IPv6 hop limit of every packet a socket sends (`--hop-limit`). Set on a
/// listening socket, it covers the SYN-ACK too, and every accepted connection inherits it.
fn set_hop_limit(socket: impl std::os::fd::AsFd, hops: u32, ipv6: bool) -> std::io::Result<()> {
    if ipv6 {
        let hops = u8::try_from(hops).unwrap_or(u8::MAX);
        rustix::net::sockopt::set_ipv6_unicast_hops(&socket, Some(hops))?;
        // A dual-stack socket ([::]) sends IPv4 too, with the IPv4 TTL; an IPv6-only one may
        // refuse the option, which then does not matter.
        if let Err(e) = rustix::net::sockopt::set_ip_ttl(&socket, hops.into()) {
            tracing::debug!("no IPv4 TTL on an IPv6 socket: {e}");
        }
    } else {
        rustix::net::sockopt::set_ip_ttl(&socket, hops)?;
    }
    Ok(())
}

/// A listening socket on `address` whose packets, the SYN-ACK included, leave with `hops`:
/// the hop limit is set before `listen()`, so no connection ever sees the default.
fn listen_on(address: SocketAddr, hops: u32) -> std::io::Result<std::net::TcpListener> {
    use rustix::net::{AddressFamily, SocketFlags, SocketType};
    let family = if address.is_ipv4() {
        AddressFamily::INET
    } else {
        AddressFamily::INET6
    };
    let socket = rustix::net::socket_with(
        family,
        SocketType::STREAM,
        SocketFlags::CLOEXEC | SocketFlags::NONBLOCK,
        None,
    )?;
    // As std's bind does: a restarted serve need not wait for TIME_WAIT to end.
    rustix::net::sockopt::set_socket_reuseaddr(&socket, true)?;
    set_hop_limit(&socket, hops, address.is_ipv6())?;
    rustix::net::bind(&socket, &address)?;
    rustix::net::listen(&socket, 1024)?;
    Ok(std::net::TcpListener::from(socket))
}

/// Binds every listening address, before anything else happens, so a busy port fails fast.
fn bind_listeners(args: &ServeSettings) -> Result<Vec<std::net::TcpListener>> {
    let defaults = args.bind.is_empty();
    let addresses = if defaults {
        vec![
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(Ipv6Addr::LOCALHOST),
        ]
    } else {
        args.bind.clone()
    };
    let mut port = args.port;
    let mut listeners = Vec::new();
    for ip in addresses {
        let address = SocketAddr::new(ip, port);
        match listen_on(address, args.hop_limit) {
            Ok(listener) => {
                // Port 0: every address on the port the first one got.
                if port == 0 {
                    port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
                }
                listeners.push(listener);
            }
            // Hosts without IPv6 have no ::1; 127.0.0.1 is enough then.
            Err(e) if defaults && ip.is_ipv6() && means_no_ipv6(&e) => {
                tracing::debug!("not listening on {address}: {e}");
            }
            Err(e) => {
                return Err(Error::bad_input(
                    format!("--port {}", args.port),
                    format!("cannot listen on {address}: {e}"),
                ));
            }
        }
    }
    Ok(listeners)
}

/// Raises the soft limit on open descriptors to the hard limit (a flood of connections must
/// not leave the refresher without one); returns the soft limit now in force.
fn raise_descriptor_limit() -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let Some(current) = limit.current else {
        return u64::MAX;
    };
    match limit.maximum {
        Some(maximum) if maximum > current => {
            let raised = Rlimit {
                current: Some(maximum),
                maximum: Some(maximum),
            };
            match setrlimit(Resource::Nofile, raised) {
                Ok(()) => {
                    tracing::debug!("descriptor limit raised from {current} to {maximum}");
                    maximum
                }
                Err(e) => {
                    tracing::warn!("cannot raise the descriptor limit from {current}: {e}");
                    current
                }
            }
        }
        // Unlimited hard limit: the soft one stays (the kernel caps it at nr_open anyway).
        _ => current,
    }
}

fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

/// Serves one connection until it ends, or until it is closed to make room (when idle).
async fn connection(
    stream: tokio::net::TcpStream,
    remote: SocketAddr,
    local: Option<SocketAddr>,
    routes: Arc<Routes>,
    mut admitted: connections::Admitted,
) {
    let _ = stream.set_nodelay(true);
    // IMDS only when both ends are loopback: a wildcard --bind also accepts remote peers.
    let peer = Peer {
        loopback: is_loopback(remote.ip()) && local.is_some_and(|l| is_loopback(l.ip())),
        ip: remote.ip(),
    };
    let handle = admitted.handle.clone();
    let service =
        hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let routes = routes.clone();
            // Busy from the moment the request head is in until the answer is handed over.
            let busy = handle.busy();
            async move {
                let method = request.method();
                let path = request.uri().path();
                let reply = match routes.route(method, path, request.headers(), peer) {
                    Answer::Now(reply) => reply,
                    Answer::Credentials(document) => {
                        let current = routes.cache.wait_valid(cache::CREDENTIALS_WAIT).await;
                        Routes::credentials(document, current)
                    }
                };
                drop(busy);
                tracing::debug!(
                    %remote,
                    %method,
                    path,
                    status = reply.status,
                    "answered"
                );
                Ok::<_, Infallible>(into_response(reply))
            }
        });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    tokio::select! {
        served = http.serve_connection(TokioIo::new(stream), service) => {
            if let Err(e) = served {
                tracing::debug!(%remote, "connection ended: {e}");
            }
        }
        _ = &mut admitted.closed => {
            tracing::debug!(%remote, "idle connection closed: the connection limit is reached");
        }
    }
}

fn into_response(reply: routes::Reply) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(reply.body));
    *response.status_mut() = hyper::StatusCode::from_u16(reply.status)
        .unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(reply.content_type));
    if let Some(ttl) = reply.ttl_header {
        headers.insert(
            HeaderName::from_static(routes::TTL_HEADER),
            HeaderValue::from(ttl),
        );
    }
    if let Some(seconds) = reply.retry_after {
        headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

async fn accept_loop(
    listener: tokio::net::TcpListener,
    routes: Arc<Routes>,
    connections: Arc<Connections>,
    hop_limit: u32,
) {
    loop {
        match listener.accept().await {
            Ok((stream, remote)) => {
                let local = stream.local_addr().ok();
                // Inherited from the listener already; set again in case it was not.
                if let Some(local) = local
                    && let Err(e) = set_hop_limit(&stream, hop_limit, local.is_ipv6())
                {
                    tracing::debug!("cannot set the hop limit on {local}: {e}");
                }
                let admitted = connections.admit().await;
                tokio::spawn(connection(stream, remote, local, routes.clone(), admitted));
                // Let the new connection read its request (and so turn busy) before the next
                // accept can pick it as the oldest idle one to close.
                tokio::task::yield_now().await;
            }
            Err(e) => {
                // Out of file descriptors and the like: wait rather than spin.
                tracing::warn!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// `serve`: runs until SIGTERM/SIGINT, or until the first refresh shows the configuration is
/// wrong (then its error, with its exit code).
pub fn run(settings: ServeSettings) -> Result<()> {
    let inputs = settings.credentials.request.validate()?;
    // The role the credentials are for: the chained one, when serve chains into a role.
    let role_arn = match &inputs.chain {
        Some(chain) => &chain.role_arn,
        None => &inputs.role_arn,
    };
    let (role_name, account_id) = role_name_and_account(role_arn)?;
    let token = container_token(&settings)?;
    if let Some(path) = &settings.container_token_file {
        crate::support::private_file::write_file_with_mode(
            path,
            token.as_bytes(),
            &format!("--container-token-file {}", path.display()),
            settings.container_token_file_mode,
        )?;
    }
    let cache = Arc::new(CredentialCache::new(account_id));
    let routes = Arc::new(Routes::new(cache.clone(), &token, role_name)?);
    drop(token);
    let descriptor_limit = raise_descriptor_limit();
    let connections = Connections::new(connections::cap_for(descriptor_limit));
    tracing::debug!(
        descriptor_limit,
        connection_cap = connections.cap(),
        "connection limits"
    );
    let listeners = bind_listeners(&settings)?;
    let hop_limit = settings.hop_limit;
    // One thread answers every request: a cached answer costs about 10 µs of CPU, kernel
    // included, so one core serves about 100,000 requests a second; a second worker only
    // competes with the clients for the cores (bench/serve.sh).
    let start = async move || {
        let mut addresses = Vec::new();
        for listener in listeners {
            let listener = tokio::net::TcpListener::from_std(listener)
                .map_err(|e| Error::Internal(format!("listening socket: {e}")))?;
            if let Ok(address) = listener.local_addr() {
                addresses.push(address.to_string());
            }
            tokio::spawn(accept_loop(
                listener,
                routes.clone(),
                connections.clone(),
                hop_limit,
            ));
        }
        eprintln!(
            "rolesanywhere-helper serve: listening on {} (IMDS: /latest/, container: {CONTAINER_PATH})",
            addresses.join(", ")
        );
        Ok(())
    };
    // Certificate and key files are re-read on every refresh: a renewed certificate is used
    // without a restart. Requests that find no credentials wait for the fetch in flight.
    let reporting = cache.clone();
    let sink = super::Sink {
        deliver: move |credentials: Credentials| cache.store(credentials),
        report: move |progress: super::refresher::Progress<'_>| reporting.report(&progress),
        ready_status: "serving credentials",
    };
    super::run(settings.credentials, settings.renewal, sink, start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_name_and_account_come_from_the_role_arn() {
        assert_eq!(
            role_name_and_account("arn:aws:iam::123456789012:role/path/to/app").unwrap(),
            ("app".to_string(), "123456789012".to_string())
        );
        assert!(role_name_and_account("arn:aws:iam::123456789012:user/x").is_err());
    }

    /// The hop limit is on the listening socket before any client connects (so the SYN-ACK
    /// carries it), and an accepted connection has it without being told.
    #[test]
    fn the_hop_limit_is_set_before_accept_and_inherited() {
        let listener = listen_on("127.0.0.1:0".parse().unwrap(), 3).unwrap();
        assert_eq!(rustix::net::sockopt::ip_ttl(&listener).unwrap(), 3);
        let address = listener.local_addr().unwrap();
        let _client = std::net::TcpStream::connect(address).unwrap();
        listener.set_nonblocking(false).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        assert_eq!(rustix::net::sockopt::ip_ttl(&accepted).unwrap(), 3);

        if let Ok(listener) = listen_on("[::1]:0".parse().unwrap(), 2) {
            assert_eq!(
                rustix::net::sockopt::ipv6_unicast_hops(&listener).unwrap(),
                2
            );
            let address = listener.local_addr().unwrap();
            let _client = std::net::TcpStream::connect(address).unwrap();
            listener.set_nonblocking(false).unwrap();
            let (accepted, _) = listener.accept().unwrap();
            assert_eq!(
                rustix::net::sockopt::ipv6_unicast_hops(&accepted).unwrap(),
                2
            );
        }
    }

    #[test]
    fn the_descriptor_soft_limit_is_raised_to_the_hard_limit() {
        let limit = raise_descriptor_limit();
        let now = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        assert_eq!(now.current, Some(limit));
        if let Some(maximum) = now.maximum {
            assert_eq!(limit, maximum);
        }
    }
}
