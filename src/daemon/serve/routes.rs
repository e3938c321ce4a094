//! What `serve` answers: the IMDSv2 token and credentials paths, and the
//! token-authenticated container-credentials path. Pure request → answer, no I/O: a request for
//! credentials is answered by [`Routes::credentials`] once the caller has them (or knows why
//! there are none).

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::HeaderMap;
use hyper::Method;
use zeroize::Zeroizing;

use super::cache::{CredentialCache, Snapshot};
use super::throttle::WrongTokens;
use super::tokens::{MAX_TTL_SECONDS, Tokens};
use crate::error::Result;

/// The container-credentials path (`AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:9911/v1/credentials`).
pub const CONTAINER_PATH: &str = "/v1/credentials";

const TOKEN_PATH: &str = "/latest/api/token";
pub(super) const TTL_HEADER: &str = "x-aws-ec2-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "x-aws-ec2-metadata-token";
const CREDENTIALS_PREFIX: &str = "/latest/meta-data/iam/security-credentials";
const EXTENDED_PREFIX: &str = "/latest/meta-data/iam/security-credentials-extended";

/// One answer.
pub(super) struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    /// May hold credentials: then a shared, zeroized-on-drop buffer (see [`super::documents::Documents`]).
    pub body: Bytes,
    pub ttl_header: Option<u64>,
    /// `Retry-After` (seconds), on a 429.
    pub retry_after: Option<u64>,
}

impl Reply {
    fn text(status: u16, body: impl Into<Bytes>) -> Reply {
        Reply {
            status,
            content_type: "text/plain",
            body: body.into(),
            ttl_header: None,
            retry_after: None,
        }
    }

    fn json(status: u16, body: impl Into<Bytes>) -> Reply {
        Reply {
            status,
            content_type: "application/json",
            body: body.into(),
            ttl_header: None,
            retry_after: None,
        }
    }
}

/// Who is asking: IMDS is served only on loopback connections; wrong container tokens are
/// counted per address.
#[derive(Debug, Clone, Copy)]
pub(super) struct Peer {
    pub loopback: bool,
    pub ip: IpAddr,
}

/// Which credentials document a request asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Document {
    Imds,
    ImdsExtended,
    Container,
}

/// What a request gets: an answer now, or a credentials document once there are credentials.
pub(super) enum Answer {
    Now(Reply),
    Credentials(Document),
}

/// Everything the routes need: the credentials, the IMDS tokens, the container token's MAC.
pub(super) struct Routes {
    pub(super) cache: Arc<CredentialCache>,
    tokens: Tokens,
    /// The container token is checked as an HMAC under a random key: `ring::hmac::verify`
    /// compares in constant time, and the token itself need not be kept.
    container_key: ring::hmac::Key,
    container_tag: ring::hmac::Tag,
    wrong_tokens: Mutex<WrongTokens>,
    role_name: String,
    /// The role name as the IMDS listing answers it.
    role_listing: Bytes,
}

impl Routes {
    pub(super) fn new(
        cache: Arc<CredentialCache>,
        container_token: &str,
        role_name: String,
    ) -> Result<Routes> {
        let key_bytes = Zeroizing::new(crate::support::random::bytes(32)?);
        let container_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key_bytes);
        let container_tag = ring::hmac::sign(&container_key, container_token.as_bytes());
        let now = Instant::now();
        Ok(Routes {
            cache,
            tokens: Tokens::new(now)?,
            container_key,
            container_tag,
            wrong_tokens: Mutex::new(WrongTokens::new(now)),
            role_listing: Bytes::from(role_name.clone()),
            role_name,
        })
    }

    /// Routes one request.
    pub(super) fn route(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        peer: Peer,
    ) -> Answer {
        let now = Instant::now();
        if path == CONTAINER_PATH {
            return self.container(method, headers, peer, now);
        }
        if !path.starts_with("/latest/") && path != "/latest" {
            return Answer::Now(Reply::text(404, "Not Found"));
        }
        if !peer.loopback {
            // Instance metadata has no authentication of its own: never beyond loopback.
            return Answer::Now(Reply::text(
                403,
                "Forbidden: instance metadata is served on loopback only",
            ));
        }
        if path == TOKEN_PATH {
            return Answer::Now(self.issue_token(method, headers, now));
        }
        if method != Method::GET && method != Method::HEAD {
            return Answer::Now(Reply::text(405, "Method Not Allowed"));
        }
        let token = headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok());
        let valid = token.is_some_and(|t| self.tokens.is_valid(t, now));
        if !valid {
            return Answer::Now(Reply::text(401, "Unauthorized"));
        }
        for (prefix, extended) in [(EXTENDED_PREFIX, true), (CREDENTIALS_PREFIX, false)] {
            let Some(rest) = path.strip_prefix(prefix) else {
                continue;
            };
            return match rest {
                "" | "/" => Answer::Now(Reply::text(200, self.role_listing.clone())),
                _ => match rest.strip_prefix('/') {
                    Some(role) if role == self.role_name => Answer::Credentials(if extended {
                        Document::ImdsExtended
                    } else {
                        Document::Imds
                    }),
                    _ => Answer::Now(Reply::text(404, "Not Found")),
                },
            };
        }
        Answer::Now(Reply::text(404, "Not Found"))
    }

    /// The answer to a request for `document`: the credentials, or 503 with an error document
    /// saying why there are none (`why_none`), never "Success" without credentials.
    pub(super) fn credentials(
        document: Document,
        current: std::result::Result<Arc<Snapshot>, String>,
    ) -> Reply {
        let current = match current {
            Ok(current) => current,
            Err(why) => {
                let (code_key, message_key) = match document {
                    Document::Container => ("code", "message"),
                    Document::Imds | Document::ImdsExtended => ("Code", "Message"),
                };
                return unavailable_reply(code_key, message_key, &why);
            }
        };
        let documents = &current.documents;
        let body = match document {
            Document::Imds => &documents.imds,
            Document::ImdsExtended => &documents.imds_extended,
            Document::Container => &documents.container,
        };
        Reply::json(200, body.clone())
    }

    fn issue_token(&self, method: &Method, headers: &HeaderMap, now: Instant) -> Reply {
        if method != Method::PUT {
            return Reply::text(405, "Method Not Allowed");
        }
        // A forwarded request came through a proxy: IMDSv2 refuses it, as EC2 does.
        if headers.contains_key("x-forwarded-for") {
            return Reply::text(403, "Forbidden");
        }
        let ttl = headers
            .get(TTL_HEADER)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|v| v.parse::<u64>().ok())
            .filter(|ttl| (1..=MAX_TTL_SECONDS).contains(ttl));
        let Some(ttl) = ttl else {
            return Reply::text(
                400,
                "Bad Request: X-aws-ec2-metadata-token-ttl-seconds must be 1 to 21600",
            );
        };
        match self.tokens.issue(Duration::from_secs(ttl), now) {
            Ok(token) => Reply {
                ttl_header: Some(ttl),
                ..Reply::text(200, Bytes::from_owner(token))
            },
            Err(e) => Reply::text(500, e.to_string()),
        }
    }

    fn lock_wrong_tokens(&self) -> std::sync::MutexGuard<'_, WrongTokens> {
        self.wrong_tokens.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn container(&self, method: &Method, headers: &HeaderMap, peer: Peer, now: Instant) -> Answer {
        if method != Method::GET && method != Method::HEAD {
            return Answer::Now(Reply::json(
                405,
                Bytes::from_static(br#"{"code":"MethodNotAllowed","message":"use GET"}"#),
            ));
        }
        let Some(presented) = headers.get(hyper::header::AUTHORIZATION) else {
            return Answer::Now(Reply::json(
                401,
                Bytes::from_static(
                    br#"{"code":"Unauthorized","message":"the Authorization header is missing"}"#,
                ),
            ));
        };
        // A peer that guessed wrong too often is not checked at all until its budget refills:
        // answering right/wrong faster would be an oracle.
        if let Some(wait) = self.lock_wrong_tokens().blocked_for(peer.ip, now) {
            let seconds = wait.as_secs() + 1;
            let document = serde_json::json!({
                "code": "TooManyRequests",
                "message": format!(
                    "too many wrong Authorization tokens from this address; retry in {seconds} s"
                ),
            });
            return Answer::Now(Reply {
                retry_after: Some(seconds),
                ..Reply::json(429, document.to_string())
            });
        }
        if ring::hmac::verify(
            &self.container_key,
            presented.as_bytes(),
            self.container_tag.as_ref(),
        )
        .is_err()
        {
            self.lock_wrong_tokens().wrong(peer.ip, now);
            return Answer::Now(Reply::json(
                403,
                Bytes::from_static(
                    br#"{"code":"Forbidden","message":"the Authorization token is wrong"}"#,
                ),
            ));
        }
        Answer::Credentials(Document::Container)
    }

    /// Routes one request and answers it from the credentials held now, without waiting.
    #[cfg(test)]
    pub(super) fn answer(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        peer: Peer,
    ) -> Reply {
        self.answer_now(method, path, headers, peer).0
    }

    /// As [`Routes::answer`], with the credentials document served, if any.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(super) fn answer_now(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        peer: Peer,
    ) -> (Reply, Option<Document>) {
        match self.route(method, path, headers, peer) {
            Answer::Now(reply) => (reply, None),
            Answer::Credentials(document) => (
                Routes::credentials(
                    document,
                    self.cache.valid_now().ok_or_else(|| self.cache.why_none()),
                ),
                Some(document),
            ),
        }
    }
}

/// 503 with an error document saying why: never a success without credentials in it.
fn unavailable_reply(code_key: &str, message_key: &str, why: &str) -> Reply {
    let document = serde_json::json!({
        code_key: "CredentialsUnavailable",
        message_key: why,
    });
    Reply::json(503, document.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::Credentials;
    use hyper::header::HeaderValue;
    use time::OffsetDateTime;

    fn routes(with_credentials: bool) -> Routes {
        let cache = Arc::new(CredentialCache::new("123456789012".into()));
        if with_credentials {
            cache
                .store(Credentials {
                    access_key_id: "ASIAX".into(),
                    secret_access_key: "SECRET".into(),
                    session_token: "TOKEN".into(),
                    expiration: OffsetDateTime::now_utc() + time::Duration::hours(1),
                })
                .unwrap();
        }
        Routes::new(cache, "container-token", "role".into()).unwrap()
    }

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        map
    }

    const LOCAL: Peer = Peer {
        loopback: true,
        ip: IpAddr::V4(std::net::Ipv4Addr::LOCALHOST),
    };

    #[test]
    fn imds_token_then_role_then_credentials() {
        let r = routes(true);
        let put = r.answer(
            &Method::PUT,
            TOKEN_PATH,
            &headers(&[(TTL_HEADER, "60")]),
            LOCAL,
        );
        assert_eq!(put.status, 200);
        assert_eq!(put.ttl_header, Some(60));
        let token = String::from_utf8(put.body.to_vec()).unwrap();
        let auth = headers(&[(TOKEN_HEADER, &token)]);
        let role = r.answer(
            &Method::GET,
            "/latest/meta-data/iam/security-credentials/",
            &auth,
            LOCAL,
        );
        assert_eq!((role.status, &role.body[..]), (200, &b"role"[..]));
        let creds = r.answer(
            &Method::GET,
            "/latest/meta-data/iam/security-credentials/role",
            &auth,
            LOCAL,
        );
        let doc: serde_json::Value = serde_json::from_slice(&creds.body).unwrap();
        assert_eq!(doc["Code"], "Success");
        let again = r.answer(
            &Method::GET,
            "/latest/meta-data/iam/security-credentials/role",
            &auth,
            LOCAL,
        );
        assert_eq!(
            again.body.as_ptr(),
            creds.body.as_ptr(),
            "rendered once, shared by every answer"
        );
        assert_eq!(doc["Token"], "TOKEN");
        assert!(doc.get("AccountId").is_none());
        let extended = r.answer(
            &Method::GET,
            "/latest/meta-data/iam/security-credentials-extended/role",
            &auth,
            LOCAL,
        );
        let doc: serde_json::Value = serde_json::from_slice(&extended.body).unwrap();
        assert_eq!(doc["AccountId"], "123456789012");
        let wrong = r.answer(
            &Method::GET,
            "/latest/meta-data/iam/security-credentials/other",
            &auth,
            LOCAL,
        );
        assert_eq!(wrong.status, 404);
    }

    #[test]
    fn imds_refusals() {
        let r = routes(true);
        for ttl in ["0", "21601", "-1", "abc", ""] {
            let put = r.answer(
                &Method::PUT,
                TOKEN_PATH,
                &headers(&[(TTL_HEADER, ttl)]),
                LOCAL,
            );
            assert_eq!(put.status, 400, "{ttl:?}");
        }
        let forwarded = headers(&[(TTL_HEADER, "60"), ("x-forwarded-for", "10.0.0.1")]);
        assert_eq!(
            r.answer(&Method::PUT, TOKEN_PATH, &forwarded, LOCAL).status,
            403
        );
        assert_eq!(
            r.answer(&Method::GET, TOKEN_PATH, &HeaderMap::new(), LOCAL)
                .status,
            405
        );
        let path = "/latest/meta-data/iam/security-credentials/role";
        assert_eq!(
            r.answer(&Method::GET, path, &HeaderMap::new(), LOCAL)
                .status,
            401
        );
        let unknown = headers(&[(TOKEN_HEADER, "forged")]);
        assert_eq!(r.answer(&Method::GET, path, &unknown, LOCAL).status, 401);
        assert_eq!(r.answer(&Method::POST, path, &unknown, LOCAL).status, 405);
        let remote = Peer {
            loopback: false,
            ip: "192.0.2.1".parse().unwrap(),
        };
        assert_eq!(
            r.answer(
                &Method::PUT,
                TOKEN_PATH,
                &headers(&[(TTL_HEADER, "60")]),
                remote
            )
            .status,
            403
        );
        assert_eq!(
            r.answer(&Method::GET, "/other", &HeaderMap::new(), LOCAL)
                .status,
            404
        );
    }

    #[test]
    fn container_endpoint_checks_the_token() {
        let r = routes(true);
        assert_eq!(
            r.answer(&Method::GET, CONTAINER_PATH, &HeaderMap::new(), LOCAL)
                .status,
            401
        );
        let wrong = headers(&[("authorization", "container-tokeN")]);
        assert_eq!(
            r.answer(&Method::GET, CONTAINER_PATH, &wrong, LOCAL).status,
            403
        );
        let right = headers(&[("authorization", "container-token")]);
        let remote = Peer {
            loopback: false,
            ip: "192.0.2.1".parse().unwrap(),
        };
        let reply = r.answer(&Method::GET, CONTAINER_PATH, &right, remote);
        assert_eq!(reply.status, 200);
        let doc: serde_json::Value = serde_json::from_slice(&reply.body).unwrap();
        assert_eq!(doc["AccessKeyId"], "ASIAX");
        assert_eq!(doc["AccountId"], "123456789012");
    }

    #[test]
    fn without_valid_credentials_the_answer_is_an_error_never_success() {
        let r = routes(false);
        let right = headers(&[("authorization", "container-token")]);
        let reply = r.answer(&Method::GET, CONTAINER_PATH, &right, LOCAL);
        assert_eq!(reply.status, 503);
        let put = r.answer(
            &Method::PUT,
            TOKEN_PATH,
            &headers(&[(TTL_HEADER, "60")]),
            LOCAL,
        );
        let token = String::from_utf8(put.body.to_vec()).unwrap();
        let auth = headers(&[(TOKEN_HEADER, &token)]);
        let reply = r.answer(
            &Method::GET,
            "/latest/meta-data/iam/security-credentials/role",
            &auth,
            LOCAL,
        );
        assert_eq!(reply.status, 503);
        assert!(!String::from_utf8_lossy(&reply.body).contains("Success"));
    }
}
