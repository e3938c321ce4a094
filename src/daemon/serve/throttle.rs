//! Wrong container tokens, rate-limited per peer: each address (an IPv6 peer by its /64, which
//! one host usually holds whole) may guess wrong 20 times, then 5 times a second. While over its
//! budget, a peer's requests get 429 without the token being checked at all, so guessing faster
//! teaches nothing.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Wrong tokens a peer may present in a burst.
pub(super) const BURST: f64 = 20.0;

/// Wrong tokens a peer regains per second.
pub(super) const PER_SECOND: f64 = 5.0;

/// Peers remembered at most; past that, the fullest buckets (which forget nothing by going) are
/// dropped, and if none is full every peer shares one bucket until some refill.
const MAX_PEERS: usize = 4096;

/// A peer's key: an IPv4 address, or an IPv6 address's /64.
fn key(ip: IpAddr) -> [u8; 9] {
    let mut key = [0u8; 9];
    match ip.to_canonical() {
        IpAddr::V4(v4) => key[1..5].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => {
            key[0] = 6;
            key[1..].copy_from_slice(&v6.octets()[..8]);
        }
    }
    key
}

/// A token bucket.
#[derive(Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(now: Instant) -> Bucket {
        Bucket {
            tokens: BURST,
            at: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * PER_SECOND).min(BURST);
        self.at = now;
    }
}

/// Every peer's budget of wrong tokens.
pub(super) struct WrongTokens {
    buckets: HashMap<[u8; 9], Bucket>,
    shared: Bucket,
}

impl WrongTokens {
    pub(super) fn new(now: Instant) -> WrongTokens {
        WrongTokens {
            buckets: HashMap::new(),
            shared: Bucket::full(now),
        }
    }

    /// How long `ip` must wait before its token is checked again; `None`: check it now.
    pub(super) fn blocked_for(&mut self, ip: IpAddr, now: Instant) -> Option<Duration> {
        let bucket = self.bucket(ip, now);
        bucket.refill(now);
        (bucket.tokens < 1.0).then(|| Duration::from_secs_f64((1.0 - bucket.tokens) / PER_SECOND))
    }

    /// `ip` presented a wrong token.
    pub(super) fn wrong(&mut self, ip: IpAddr, now: Instant) {
        let bucket = self.bucket(ip, now);
        bucket.refill(now);
        bucket.tokens = (bucket.tokens - 1.0).max(0.0);
    }

    fn bucket(&mut self, ip: IpAddr, now: Instant) -> &mut Bucket {
        let key = key(ip);
        if !self.buckets.contains_key(&key) && self.buckets.len() >= MAX_PEERS {
            self.buckets.retain(|_, bucket| {
                bucket.refill(now);
                bucket.tokens < BURST
            });
        }
        if self.buckets.len() >= MAX_PEERS && !self.buckets.contains_key(&key) {
            return &mut self.shared;
        }
        self.buckets.entry(key).or_insert_with(|| Bucket::full(now))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_peer_may_guess_wrong_a_burst_of_times_then_five_a_second() {
        let start = Instant::now();
        let mut wrong = WrongTokens::new(start);
        let guesser: IpAddr = "192.0.2.7".parse().unwrap();
        let other: IpAddr = "192.0.2.8".parse().unwrap();
        let mut checked = 0;
        for _ in 0..100 {
            if wrong.blocked_for(guesser, start).is_none() {
                checked += 1;
                wrong.wrong(guesser, start);
            }
        }
        assert_eq!(checked, BURST as usize, "a burst, then nothing is checked");
        let wait = wrong.blocked_for(guesser, start).unwrap();
        assert!(wait <= Duration::from_millis(200), "{wait:?}");
        assert!(wrong.blocked_for(other, start).is_none(), "per peer");
        let later = start + Duration::from_millis(210);
        assert!(
            wrong.blocked_for(guesser, later).is_none(),
            "five more a second"
        );
        wrong.wrong(guesser, later);
        assert!(wrong.blocked_for(guesser, later).is_some());
        // An IPv6 peer is one /64: hopping addresses inside it does not help.
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let b: IpAddr = "2001:db8::2".parse().unwrap();
        for _ in 0..BURST as usize {
            wrong.wrong(a, start);
        }
        assert!(wrong.blocked_for(b, start).is_some());
    }

    #[test]
    fn the_peers_remembered_are_bounded() {
        let start = Instant::now();
        let mut wrong = WrongTokens::new(start);
        for i in 0..(MAX_PEERS as u32 + 100) {
            let ip = IpAddr::V4(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            wrong.wrong(ip, start);
        }
        assert!(wrong.buckets.len() <= MAX_PEERS);
    }
}
