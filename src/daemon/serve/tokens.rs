//! The IMDSv2 session tokens `serve` hands out: each carries its own expiry and a MAC under a
//! key that lives only in this process, so nothing is stored per token. There is no store to
//! fill, so no token can be evicted: a flood of `PUT /latest/api/token` from another process
//! leaves every token issued before it valid until its own TTL ends.

use std::time::{Duration, Instant};

use base64::Engine as _;
use zeroize::Zeroizing;

use crate::error::Result;

/// The longest TTL IMDSv2 grants (6 hours).
pub(super) const MAX_TTL_SECONDS: u64 = 21600;

/// A token: 16 random bytes, the expiry (milliseconds after the key was made, big-endian), and
/// the HMAC-SHA256 of both.
const NONCE_LEN: usize = 16;
const PAYLOAD_LEN: usize = NONCE_LEN + 8;
const TOKEN_LEN: usize = PAYLOAD_LEN + 32;

/// Issues and checks IMDS tokens; a restart makes a new key, which ends every token (as before).
pub(super) struct Tokens {
    key: ring::hmac::Key,
    epoch: Instant,
}

impl Tokens {
    pub(super) fn new(now: Instant) -> Result<Tokens> {
        let key_bytes = Zeroizing::new(crate::support::random::bytes(32)?);
        Ok(Tokens {
            key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key_bytes),
            epoch: now,
        })
    }

    fn millis(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.epoch).as_millis()).unwrap_or(u64::MAX)
    }

    /// A new token valid for `ttl` from `now`.
    pub(super) fn issue(&self, ttl: Duration, now: Instant) -> Result<Zeroizing<String>> {
        let mut token = Zeroizing::new(Vec::with_capacity(TOKEN_LEN));
        token.extend_from_slice(&crate::support::random::bytes(NONCE_LEN)?);
        token.extend_from_slice(&self.millis(now + ttl).to_be_bytes());
        let tag = ring::hmac::sign(&self.key, &token);
        token.extend_from_slice(tag.as_ref());
        Ok(Zeroizing::new(
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&*token),
        ))
    }

    /// True when `token` was issued here (its MAC checks, in constant time) and has not expired.
    pub(super) fn is_valid(&self, token: &str, now: Instant) -> bool {
        // Anything of another length was never issued here: no decoding of arbitrary input.
        if token.len() != (TOKEN_LEN * 4).div_ceil(3) {
            return false;
        }
        let Ok(raw) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(token) else {
            return false;
        };
        let raw = Zeroizing::new(raw);
        let Some((payload, tag)) = raw.split_at_checked(PAYLOAD_LEN) else {
            return false;
        };
        if tag.len() != 32 || ring::hmac::verify(&self.key, payload, tag).is_err() {
            return false;
        }
        let mut expiry = [0u8; 8];
        expiry.copy_from_slice(&payload[NONCE_LEN..]);
        u64::from_be_bytes(expiry) > self.millis(now)
    }
}

/// 32 random bytes as URL-safe base64: a generated container token.
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
    fn tokens_expire_and_none_is_evicted_by_a_flood() {
        let start = Instant::now();
        let store = Tokens::new(start).unwrap();
        let short = store.issue(Duration::from_secs(1), start).unwrap();
        let long = store.issue(Duration::from_secs(100), start).unwrap();
        assert!(store.is_valid(&short, start));
        assert!(!store.is_valid("not-a-token", start));
        let later = start + Duration::from_secs(2);
        assert!(!store.is_valid(&short, later), "expired");
        assert!(store.is_valid(&long, later));
        for _ in 0..10_000 {
            store.issue(Duration::from_secs(21600), later).unwrap();
        }
        assert!(
            store.is_valid(&long, later),
            "a flood of new tokens evicts no earlier one"
        );
        assert!(!store.is_valid(&long, start + Duration::from_secs(101)));
    }

    #[test]
    fn a_token_is_only_valid_as_issued_by_this_key() {
        let now = Instant::now();
        let store = Tokens::new(now).unwrap();
        let token = store.issue(Duration::from_secs(60), now).unwrap();
        let other = Tokens::new(now).unwrap();
        assert!(!other.is_valid(&token, now), "another key (a restart)");
        // Any one character changed: the MAC no longer checks (a longer expiry included).
        let bytes = token.as_bytes();
        for i in 0..bytes.len() {
            let mut forged = bytes.to_vec();
            forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
            let forged = String::from_utf8(forged).unwrap();
            assert!(!store.is_valid(&forged, now), "changed at {i}");
        }
        assert!(!store.is_valid(&token[1..], now));
        assert!(!store.is_valid(&format!("{}A", &*token), now));
    }
}
