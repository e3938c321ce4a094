//! `serve`: always-fresh credentials for every SDK on the host, over IMDSv2 and a
//! container-credentials endpoint, from one background refresher.
//!
//! Loopback only by default; a `--bind` address beyond loopback serves only the
//! token-authenticated container path. Stops cleanly on SIGTERM/SIGINT and tells systemd it is
//! ready once it holds credentials.

mod routes;
mod tokens;

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::Response;
use hyper::header::{CONTENT_TYPE, HeaderName, HeaderValue};
use hyper_util::rt::{TokioIo, TokioTimer};
use time::OffsetDateTime;
use zeroize::Zeroizing;

pub use routes::CONTAINER_PATH;
use routes::{Peer, Routes};

use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::settings::daemon::ServeSettings;

const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// The last good credentials, as the documents every request answers with.
pub struct Snapshot {
    /// When the credentials expire.
    pub expiration: OffsetDateTime,
    documents: routes::Documents,
}

/// What the refresher writes and the handlers read.
pub struct CredentialCache {
    account_id: String,
    current: RwLock<Option<Arc<Snapshot>>>,
}

impl CredentialCache {
    /// An empty cache for the role's account.
    pub fn new(account_id: String) -> CredentialCache {
        CredentialCache {
            account_id,
            current: RwLock::new(None),
        }
    }

    /// Renders the documents once, here, rather than on every request.
    pub fn store(&self, credentials: Credentials) -> Result<()> {
        let last_updated = OffsetDateTime::now_utc();
        let documents = routes::Documents::render(&credentials, last_updated, &self.account_id)?;
        let snapshot = Arc::new(Snapshot {
            expiration: credentials.expiration,
            documents,
        });
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(snapshot);
        Ok(())
    }

    /// The last good credentials if they have not expired: expired ones are never served.
    pub fn valid_now(&self) -> Option<Arc<Snapshot>> {
        let current = self.current.read().unwrap_or_else(|p| p.into_inner());
        current
            .as_ref()
            .filter(|s| s.expiration > OffsetDateTime::now_utc())
            .cloned()
    }
}

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

/// The container token: `--container-token` / its environment variable, else 32 random bytes.
fn container_token(settings: &ServeSettings) -> Result<Zeroizing<String>> {
    if let Some(token) = settings.container_token.as_deref() {
        if token.is_empty() || token.bytes().any(|b| !(0x21..0x7f).contains(&b)) {
            return Err(Error::invalid_argument(
                "--container-token",
                "must be printable ASCII without spaces",
            ));
        }
        return Ok(Zeroizing::new(token.to_string()));
    }
    tokens::random_token()
}

/// True when binding failed because the host has no IPv6 (not because the port is taken).
fn means_no_ipv6(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        std::io::ErrorKind::AddrNotAvailable | std::io::ErrorKind::Unsupported
    ) || error.raw_os_error() == Some(libc::EAFNOSUPPORT)
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
        match std::net::TcpListener::bind(address) {
            Ok(listener) => {
                listener
                    .set_nonblocking(true)
                    .map_err(|e| Error::Internal(format!("listening socket: {e}")))?;
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

/// Sets the IP TTL / IPv6 hop limit of an accepted connection's packets (`--hop-limit`).
fn set_hop_limit(stream: &tokio::net::TcpStream, hops: u32, local: SocketAddr) {
    let result = if local.is_ipv4() {
        stream.set_ttl(hops)
    } else {
        use std::os::unix::io::AsRawFd as _;
        let value = hops as libc::c_int;
        // SAFETY: setsockopt with a pointer to a local c_int and its exact size.
        let rc = unsafe {
            libc::setsockopt(
                stream.as_raw_fd(),
                libc::IPPROTO_IPV6,
                libc::IPV6_UNICAST_HOPS,
                (&value as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(std::io::Error::last_os_error())
        }
    };
    if let Err(e) = result {
        tracing::debug!("cannot set the hop limit on {local}: {e}");
    }
}

fn is_loopback(ip: IpAddr) -> bool {
    ip.to_canonical().is_loopback()
}

/// Serves one connection; `local` is its local address.
async fn connection(
    stream: tokio::net::TcpStream,
    remote: SocketAddr,
    local: Option<SocketAddr>,
    routes: Arc<Routes>,
) {
    let _ = stream.set_nodelay(true);
    // IMDS only when both ends are loopback: a wildcard --bind also accepts remote peers.
    let peer = Peer {
        loopback: is_loopback(remote.ip()) && local.is_some_and(|l| is_loopback(l.ip())),
    };
    let service =
        hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let routes = routes.clone();
            async move {
                let reply = routes.answer(
                    request.method(),
                    request.uri().path(),
                    request.headers(),
                    peer,
                );
                tracing::debug!(
                    %remote,
                    method = %request.method(),
                    path = request.uri().path(),
                    status = reply.status,
                    "answered"
                );
                Ok::<_, Infallible>(into_response(reply))
            }
        });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    if let Err(e) = http.serve_connection(TokioIo::new(stream), service).await {
        tracing::debug!(%remote, "connection ended: {e}");
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
    response
}

async fn accept_loop(listener: tokio::net::TcpListener, routes: Arc<Routes>, hop_limit: u32) {
    loop {
        match listener.accept().await {
            Ok((stream, remote)) => {
                let local = stream.local_addr().ok();
                if let Some(local) = local {
                    set_hop_limit(&stream, hop_limit, local);
                }
                tokio::spawn(connection(stream, remote, local, routes.clone()));
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
    let (role_name, account_id) = role_name_and_account(&inputs.role_arn)?;
    let token = container_token(&settings)?;
    if let Some(path) = &settings.container_token_file {
        crate::support::private_file::write_private_file(
            path,
            token.as_bytes(),
            &format!("--container-token-file {}", path.display()),
        )?;
    }
    let cache = Arc::new(CredentialCache::new(account_id));
    let routes = Arc::new(Routes::new(cache.clone(), &token, role_name)?);
    drop(token);
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
            tokio::spawn(accept_loop(listener, routes.clone(), hop_limit));
        }
        eprintln!(
            "rolesanywhere-helper serve: listening on {} (IMDS: /latest/, container: {CONTAINER_PATH})",
            addresses.join(", ")
        );
        Ok(())
    };
    // Certificate and key files are re-read on every refresh: a renewed certificate is used
    // without a restart.
    let sink = super::Sink {
        deliver: move |credentials: Credentials| cache.store(credentials),
        ready_status: "serving credentials",
    };
    super::run(settings.credentials, sink, start)
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

    #[test]
    fn expired_credentials_are_never_valid() {
        let cache = CredentialCache::new("123456789012".into());
        assert!(cache.valid_now().is_none());
        cache
            .store(Credentials {
                access_key_id: "A".into(),
                secret_access_key: "S".into(),
                session_token: "T".into(),
                expiration: OffsetDateTime::now_utc() - time::Duration::seconds(1),
            })
            .unwrap();
        assert!(cache.valid_now().is_none());
    }
}
