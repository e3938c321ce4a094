//! The credentials `serve` answers with, and what the refresher is doing about them: a request
//! that finds no valid credentials waits (bounded) for the fetch in flight, and otherwise learns
//! what is really happening.

use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::watch;

use super::documents;
use crate::credentials::Credentials;
use crate::daemon::refresher::Progress;
use crate::error::Result;

/// How long a request waits for credentials that are on their way (the first CreateSession, or
/// a refresh after the last credentials expired) before it gets a 503.
pub(super) const CREDENTIALS_WAIT: Duration = Duration::from_secs(10);

/// The last good credentials, as the documents every request answers with.
pub struct Snapshot {
    /// When the credentials expire.
    pub expiration: OffsetDateTime,
    pub(super) documents: documents::Documents,
}

/// What the refresher writes and the handlers read.
#[derive(Clone)]
struct State {
    /// The last good credentials (expired ones included: they tell "expired" from "none yet").
    snapshot: Option<Arc<Snapshot>>,
    /// A fetch is in flight (true from the start: the first one is about to begin).
    fetching: bool,
    /// Why the last fetch failed, until one succeeds.
    last_error: Option<Arc<str>>,
}

impl State {
    fn valid_now(&self) -> Option<Arc<Snapshot>> {
        self.snapshot
            .as_ref()
            .filter(|s| s.expiration > OffsetDateTime::now_utc())
            .cloned()
    }

    /// Nothing to wait for: the last fetch failed and the next waits for its backoff.
    fn failed_and_backing_off(&self) -> bool {
        !self.fetching && self.last_error.is_some()
    }

    /// Why there are no credentials to serve right now, in words for the client.
    fn why_none(&self) -> String {
        let what = if self.snapshot.is_some() {
            "the credentials expired"
        } else {
            "no credentials yet"
        };
        match (&self.last_error, self.fetching, self.snapshot.is_some()) {
            (Some(error), true, _) => {
                format!("{what}: refreshing failed: {error}; a retry is in flight")
            }
            (Some(error), false, _) => {
                format!("{what}: refreshing failed: {error}; retrying, see the helper's log")
            }
            (None, true, false) => format!("{what}: the first CreateSession is in flight"),
            (None, true, true) => format!("{what}: a refresh is in flight"),
            (None, false, _) => format!("{what}: the next refresh is due"),
        }
    }
}

/// The credentials and the refresher's progress, shared by the refresher thread (writes) and
/// the request handlers (read, or wait for a change).
pub struct CredentialCache {
    account_id: String,
    state: watch::Sender<State>,
}

impl CredentialCache {
    /// An empty cache for the role's account, its first fetch about to start.
    pub fn new(account_id: String) -> CredentialCache {
        let (state, _) = watch::channel(State {
            snapshot: None,
            fetching: true,
            last_error: None,
        });
        CredentialCache { account_id, state }
    }

    /// Renders the documents once, here, rather than on every request, and wakes every request
    /// waiting for them.
    pub fn store(&self, credentials: Credentials) -> Result<()> {
        let last_updated = OffsetDateTime::now_utc();
        let documents = documents::Documents::render(&credentials, last_updated, &self.account_id)?;
        let snapshot = Arc::new(Snapshot {
            expiration: credentials.expiration,
            documents,
        });
        self.state.send_modify(|state| {
            state.snapshot = Some(snapshot);
            state.fetching = false;
            state.last_error = None;
        });
        Ok(())
    }

    /// What the refresher is doing: a fetch starts, or one failed (waiting requests then get
    /// the reason at once rather than waiting out the backoff).
    pub fn report(&self, progress: &Progress<'_>) {
        self.state.send_modify(|state| match progress {
            Progress::Fetching => state.fetching = true,
            Progress::Failed(error) => {
                state.fetching = false;
                state.last_error = Some(Arc::from(error.to_string()));
            }
        });
    }

    /// The last good credentials if they have not expired: expired ones are never served.
    pub fn valid_now(&self) -> Option<Arc<Snapshot>> {
        self.state.borrow().valid_now()
    }

    /// Valid credentials, waiting up to `limit` for a fetch in flight (or due) to bring them;
    /// otherwise why there are none. A request never waits out a failed fetch's backoff: it
    /// gets the failure at once.
    pub async fn wait_valid(&self, limit: Duration) -> std::result::Result<Arc<Snapshot>, String> {
        let mut changes = self.state.subscribe();
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            {
                let state = changes.borrow_and_update();
                if let Some(snapshot) = state.valid_now() {
                    return Ok(snapshot);
                }
                if state.failed_and_backing_off() {
                    return Err(state.why_none());
                }
            }
            // Expired credentials are not announced: look again at least every second.
            let wake = deadline.min(tokio::time::Instant::now() + Duration::from_secs(1));
            match tokio::time::timeout_at(wake, changes.changed()).await {
                Ok(Ok(())) => {}
                // The sender lives as long as the cache; a timeout re-checks below.
                Ok(Err(_)) | Err(_) => {
                    if tokio::time::Instant::now() >= deadline {
                        let state = changes.borrow();
                        return state.valid_now().ok_or_else(|| state.why_none());
                    }
                }
            }
        }
    }

    /// Why there are no credentials now (for a request that does not wait).
    pub fn why_none(&self) -> String {
        self.state.borrow().why_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    fn credentials(valid_for: time::Duration) -> Credentials {
        Credentials {
            access_key_id: "ASIAX".into(),
            secret_access_key: "S".into(),
            session_token: "T".into(),
            expiration: OffsetDateTime::now_utc() + valid_for,
        }
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    }

    #[test]
    fn expired_credentials_are_never_valid() {
        let cache = CredentialCache::new("123456789012".into());
        assert!(cache.valid_now().is_none());
        cache
            .store(credentials(time::Duration::seconds(-1)))
            .unwrap();
        assert!(cache.valid_now().is_none());
    }

    #[test]
    fn a_request_waits_for_the_first_credentials_then_gets_them() {
        let cache = Arc::new(CredentialCache::new("123456789012".into()));
        let writer = cache.clone();
        let refresher = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            writer.store(credentials(time::Duration::hours(1))).unwrap();
        });
        let started = std::time::Instant::now();
        let got = runtime().block_on(cache.wait_valid(Duration::from_secs(10)));
        assert!(got.is_ok(), "{:?}", got.err());
        assert!(started.elapsed() >= Duration::from_millis(250));
        refresher.join().unwrap();
    }

    #[test]
    fn the_wait_is_bounded_and_says_the_first_create_session_is_in_flight() {
        let cache = CredentialCache::new("123456789012".into());
        let started = std::time::Instant::now();
        let why = runtime()
            .block_on(cache.wait_valid(Duration::from_millis(300)))
            .err()
            .unwrap();
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert!(started.elapsed() < Duration::from_secs(3));
        assert_eq!(
            why,
            "no credentials yet: the first CreateSession is in flight"
        );
    }

    #[test]
    fn a_failure_ends_the_wait_at_once_with_its_reason() {
        let cache = Arc::new(CredentialCache::new("123456789012".into()));
        let writer = cache.clone();
        let refresher = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            let error = Error::Unavailable("CreateSession answered 503".into());
            writer.report(&Progress::Failed(&error));
        });
        let started = std::time::Instant::now();
        let why = runtime()
            .block_on(cache.wait_valid(Duration::from_secs(10)))
            .err()
            .unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(
            why.starts_with("no credentials yet: refreshing failed: ")
                && why.contains("CreateSession answered 503"),
            "{why}"
        );
        refresher.join().unwrap();
        // Backing off: no wait at all.
        let why = runtime()
            .block_on(cache.wait_valid(Duration::from_secs(10)))
            .err()
            .unwrap();
        assert!(why.contains("retrying"), "{why}");
        // A retry in flight is waited for again; expired credentials say so.
        cache.report(&Progress::Fetching);
        cache
            .store(credentials(time::Duration::seconds(-1)))
            .unwrap();
        cache.report(&Progress::Fetching);
        let why = runtime()
            .block_on(cache.wait_valid(Duration::from_millis(100)))
            .err()
            .unwrap();
        assert_eq!(why, "the credentials expired: a refresh is in flight");
    }
}
