//! Credentials for the short-lived commands (`credential-process`, `export`, `exec`, `demo`):
//! one CreateSession (and one AssumeRole when chaining into a role), or the cache's copy when
//! the cache is on and holds good ones.

use super::cache::{self, Cache};
use super::{Credentials, SessionInfo};
use crate::error::Result;
use crate::session::prepared::{self, Prepared};
use crate::settings::credentials::CredentialSettings;

/// How long a cached run waits for another run making the same CreateSession: that call's
/// deadline (every attempt and backoff) and a margin for writing the cache file.
fn lock_wait(settings: &CredentialSettings) -> std::time::Duration {
    settings.client.retry.deadline + std::time::Duration::from_secs(5)
}

/// Loads the identity and calls CreateSession (then AssumeRole, when the settings chain into a
/// role), with no cache.
pub fn fetch(settings: &CredentialSettings) -> Result<(Credentials, SessionInfo)> {
    prepared::prepare(settings, prepared::load_identity)?.fetch_chained(&settings.client)
}

/// Credentials for one run: from the cache when it is on and holds good ones, else fetched (and
/// kept there for the next run).
pub fn fetch_or_reuse(settings: &CredentialSettings) -> Result<Credentials> {
    let prepared = prepared::prepare(settings, prepared::load_identity)?;
    if !settings.cache.enabled {
        return Ok(prepared.fetch_chained(&settings.client)?.0);
    }
    let directory = match &settings.cache.directory {
        Some(directory) => directory.clone(),
        None => cache::default_directory()?,
    };
    let fetch = |prepared: &Prepared| Ok(prepared.fetch_chained(&settings.client)?.0);
    // The cache is an optimisation: a directory that cannot be trusted costs a warning, not the run.
    match Cache::open(directory) {
        Ok(cache) => cache.get_or_fetch(&prepared.cache_key(), lock_wait(settings), || {
            fetch(&prepared)
        }),
        Err(problem) => {
            tracing::warn!("not using the credential cache: {problem}");
            fetch(&prepared)
        }
    }
}
