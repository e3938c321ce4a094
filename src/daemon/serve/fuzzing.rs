//! Entry point for the fuzz targets (feature `fuzzing`): a request's method, target and headers,
//! as hyper hands them to `serve`, through the real routes, with no socket.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use hyper::header::{HeaderName, HeaderValue};
use hyper::{HeaderMap, Method, Uri};

use super::cache::CredentialCache;
use super::routes::{Document, Peer, Routes};
use crate::credentials::Credentials;

/// What one request got.
#[derive(Debug)]
pub struct Outcome {
    /// The HTTP status.
    pub status: u16,
    /// The body (a token, a role name, a credentials or error document).
    pub body: Vec<u8>,
    /// Which credentials document was served: `"imds"`, `"imds-extended"` or `"container"`.
    pub document: Option<&'static str>,
}

/// `serve`'s routes holding credentials for role `role`, with a known container token.
pub struct Server {
    routes: Routes,
}

impl Server {
    /// Routes that hold fresh credentials and take `container_token`.
    pub fn new(container_token: &str) -> crate::Result<Server> {
        let cache = Arc::new(CredentialCache::new("123456789012".into()));
        cache.store(Credentials {
            access_key_id: "ASIAFUZZFUZZFUZZFUZZ".into(),
            secret_access_key: "c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0".into(),
            session_token: "dG9rZW50b2tlbnRva2VudG9rZW4=".into(),
            expiration: time::OffsetDateTime::now_utc() + time::Duration::hours(1),
        })?;
        Ok(Server {
            routes: Routes::new(cache, container_token, "role".into())?,
        })
    }

    /// Answers one request as `serve` would, from a loopback peer or not; `None` for what hyper
    /// refuses before `serve` sees it (a method, target or header that is not valid HTTP).
    pub fn answer(
        &self,
        method: &[u8],
        target: &[u8],
        headers: &[(&[u8], &[u8])],
        loopback: bool,
    ) -> Option<Outcome> {
        let method = Method::from_bytes(method).ok()?;
        let uri = Uri::try_from(target).ok()?;
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                HeaderName::from_bytes(name).ok()?,
                HeaderValue::from_bytes(value).ok()?,
            );
        }
        let ip = if loopback {
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        } else {
            IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1))
        };
        let peer = Peer { loopback, ip };
        let (reply, document) = self.routes.answer_now(&method, uri.path(), &map, peer);
        let document = document.map(|document| match document {
            Document::Imds => "imds",
            Document::ImdsExtended => "imds-extended",
            Document::Container => "container",
        });
        Some(Outcome {
            status: reply.status,
            body: reply.body.to_vec(),
            document,
        })
    }
}
