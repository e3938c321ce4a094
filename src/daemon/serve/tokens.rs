//! The IMDSv2 session tokens `serve` hands out: random, with a TTL, bounded in number. Only a
//! SHA-256 digest of each token is kept, so the store never holds a usable token.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use zeroize::Zeroizing;

use crate::error::Result;

/// The most live tokens kept; issuing one more evicts the one expiring soonest. SDKs reuse a
/// token for its TTL, so a well-behaved host needs a handful.
pub(super) const MAX_LIVE_TOKENS: usize = 1024;

/// The longest TTL IMDSv2 grants (6 hours).
pub(super) const MAX_TTL_SECONDS: u64 = 21600;

type Digest = [u8; 32];

fn digest(token: &str) -> Digest {
    let hash = ring::digest::digest(&ring::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(hash.as_ref());
    out
}

/// Live tokens and when each expires.
pub(super) struct TokenStore {
    expiry_by_digest: HashMap<Digest, Instant>,
    capacity: usize,
}

impl Default for TokenStore {
    fn default() -> Self {
        TokenStore::with_capacity(MAX_LIVE_TOKENS)
    }
}

impl TokenStore {
    pub(super) fn with_capacity(capacity: usize) -> TokenStore {
        TokenStore {
            expiry_by_digest: HashMap::new(),
            capacity: capacity.max(1),
        }
    }

    /// A new token valid for `ttl` from `now`.
    pub(super) fn issue(&mut self, ttl: Duration, now: Instant) -> Result<Zeroizing<String>> {
        self.expiry_by_digest.retain(|_, expiry| *expiry > now);
        while self.expiry_by_digest.len() >= self.capacity {
            let soonest = self
                .expiry_by_digest
                .iter()
                .min_by_key(|(_, expiry)| **expiry)
                .map(|(digest, _)| *digest);
            match soonest {
                Some(digest) => self.expiry_by_digest.remove(&digest),
                None => break,
            };
        }
        let token = random_token()?;
        self.expiry_by_digest.insert(digest(&token), now + ttl);
        Ok(token)
    }

    /// True when `token` was issued here and has not expired; an expired one is forgotten.
    pub(super) fn is_valid(&mut self, token: &str, now: Instant) -> bool {
        let key = digest(token);
        match self.expiry_by_digest.get(&key) {
            Some(expiry) if *expiry > now => true,
            Some(_) => {
                self.expiry_by_digest.remove(&key);
                false
            }
            None => false,
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.expiry_by_digest.len()
    }
}

/// 32 random bytes as URL-safe base64: an IMDSv2 session token, or a generated container token.
pub(super) fn random_token() -> Result<Zeroizing<String>> {
    let random = Zeroizing::new(crate::support::random::bytes(32)?);
    Ok(Zeroizing::new(
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&*random),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_expire_and_the_store_is_bounded() {
        let mut store = TokenStore::with_capacity(3);
        let start = Instant::now();
        let short = store.issue(Duration::from_secs(1), start).unwrap();
        let long = store.issue(Duration::from_secs(100), start).unwrap();
        assert!(store.is_valid(&short, start));
        assert!(!store.is_valid("not-a-token", start));
        let later = start + Duration::from_secs(2);
        assert!(!store.is_valid(&short, later), "expired");
        assert!(store.is_valid(&long, later));
        for _ in 0..10 {
            store.issue(Duration::from_secs(50), later).unwrap();
        }
        assert_eq!(store.len(), 3);
        assert!(
            store.is_valid(&long, later),
            "the soonest-expiring go first"
        );
    }
}
