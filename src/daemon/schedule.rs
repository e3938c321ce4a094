//! When the refresher calls CreateSession next: one pure function of the time now, the expiry of
//! the credentials in hand, what the last attempt did and a random number in [0, 1). The
//! refresher and the fleet simulation (`benches/fleet.rs`) both call it, so the simulation
//! measures the very schedule the daemon runs.
//!
//! Why it looks the way it does (figures: `bench/fleet.sh`, bench/README.md): a fleet must not
//! call in waves. A host refreshes at a random point of a window of its credentials' lifetime.
//! The refresh after the first credentials of the process is drawn from the window's equilibrium
//! distribution instead, so that a fleet started at one instant calls at the same steady rate
//! from the start rather than in an echo of that instant. Failures are retried with exponential
//! backoff and jitter, capped by how long the credentials in hand stay valid: a host with valid
//! credentials has no hurry and retries at their expiry (measured: spreading those retries over
//! the time left front-loads them when an outage ends, peak/mean 3 to 4); once they expired, at
//! a uniformly random point of up to 20 minutes. A success that ends a run of failures resumes
//! the schedule (a full window) rather than drawing an equilibrium refresh: the retries are
//! already spread, and an equilibrium draw on top of them adds a second wave. The window (40 to
//! 60% of the lifetime) leaves 24 minutes or more after a missed refresh, so that fewer hosts
//! expire in a 30-minute outage (figures: bench/README.md).

use std::time::Duration;

use time::OffsetDateTime;

/// Test-only: refresh after exactly this fraction of the lifetime (e.g. `0.003`), with retry
/// waits of at most 2 s, so tests see refreshes within seconds. Never set it in production.
pub const TEST_REFRESH_FRACTION_ENV: &str = "RAH_TEST_REFRESH_FRACTION";

/// What the attempt before the wait did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Last {
    /// A scheduled refresh succeeded: the steady state.
    Refreshed,
    /// The first fetch of the process succeeded (a success ending a run of failures resumes the
    /// schedule: `Refreshed`).
    Recovered,
    /// This many attempts in a row failed (1 after the first failure).
    Failed(u32),
}

/// When to refresh, and how to wait after a failure.
#[derive(Debug, Clone)]
pub struct RefreshPolicy {
    /// Refresh at a uniformly random point between this fraction of the lifetime and
    /// `latest_fraction`.
    pub earliest_fraction: f64,
    /// See `earliest_fraction`.
    pub latest_fraction: f64,
    /// But no later than this before expiry: the SDKs start their own refresh 15 minutes out,
    /// and we want fresh credentials in place before any SDK asks.
    pub margin_before_expiry: Duration,
    /// Never sooner than this after a success (a short lifetime must not make us spin).
    pub shortest_wait: Duration,
    /// The first retry's wait after a failure, doubled each time.
    pub retry_base: Duration,
    /// The longest wait between retries while no valid credentials are in hand.
    pub retry_max: Duration,
    /// The longest wait between retries while valid credentials are in hand (and at most half
    /// of the time they stay valid).
    pub retry_max_while_valid: Duration,
    /// Once they expired, a retry waits between this fraction of `retry_max` and `retry_max`
    /// (never under `shortest_wait`).
    pub retry_earliest_fraction_expired: f64,
    /// Test-only override (see [`TEST_REFRESH_FRACTION_ENV`]).
    pub fixed_fraction: Option<f64>,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        RefreshPolicy {
            earliest_fraction: 0.4,
            latest_fraction: 0.6,
            margin_before_expiry: Duration::from_secs(20 * 60),
            shortest_wait: Duration::from_secs(60),
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(20 * 60),
            retry_max_while_valid: Duration::from_secs(60 * 60),
            retry_earliest_fraction_expired: 0.0,
            fixed_fraction: None,
        }
    }
}

impl RefreshPolicy {
    /// The default policy, or the test-only accelerated one when the environment asks for it.
    pub fn from_env() -> RefreshPolicy {
        let fixed = std::env::var(TEST_REFRESH_FRACTION_ENV)
            .ok()
            .and_then(|v| v.parse::<f64>().ok())
            .filter(|f| *f > 0.0 && *f < 1.0);
        match fixed {
            Some(fraction) => {
                tracing::warn!(
                    "{TEST_REFRESH_FRACTION_ENV}={fraction}: accelerated refresh for tests"
                );
                RefreshPolicy {
                    fixed_fraction: Some(fraction),
                    retry_base: Duration::from_millis(200),
                    retry_max: Duration::from_secs(2),
                    retry_max_while_valid: Duration::from_secs(2),
                    ..RefreshPolicy::default()
                }
            }
            None => RefreshPolicy::default(),
        }
    }

    /// How long to wait, from `now`, before the next CreateSession. `expiry` is that of the
    /// credentials in hand (`None` when there are none); after a success `now` is when the
    /// fetch was asked, so `expiry - now` is the lifetime. `random` is in [0, 1).
    pub fn next_wait(
        &self,
        now: OffsetDateTime,
        expiry: Option<OffsetDateTime>,
        last: Last,
        random: f64,
    ) -> Duration {
        let remaining = expiry.map(|e| Duration::try_from(e - now).unwrap_or(Duration::ZERO));
        let lifetime = remaining.unwrap_or(Duration::ZERO);
        match last {
            Last::Refreshed => self.refresh_delay(lifetime, random),
            Last::Recovered => self.first_refresh_delay(lifetime, random),
            Last::Failed(failures) => self.retry_delay(failures, remaining, random),
        }
    }

    /// The window of a scheduled refresh after receiving credentials valid for `lifetime`:
    /// `earliest_fraction` to `latest_fraction` of it, ending `margin_before_expiry` before
    /// expiry. Lifetimes under 40 minutes cannot meet the margin: a quarter of the lifetime then
    /// (never under `shortest_wait`, so a short lifetime never makes a tight loop).
    pub fn refresh_window(&self, lifetime: Duration) -> (Duration, Duration) {
        let floor = (lifetime / 4).max(self.shortest_wait);
        let latest = lifetime
            .mul_f64(self.latest_fraction)
            .min(lifetime.saturating_sub(self.margin_before_expiry))
            .max(floor);
        let earliest = lifetime
            .mul_f64(self.earliest_fraction)
            .min(latest)
            .max(floor);
        (earliest, latest)
    }

    /// The wait after a scheduled refresh: uniform over [`RefreshPolicy::refresh_window`].
    pub fn refresh_delay(&self, lifetime: Duration, random: f64) -> Duration {
        if let Some(fraction) = self.fixed_fraction {
            return lifetime.mul_f64(fraction);
        }
        let (earliest, latest) = self.refresh_window(lifetime);
        earliest + (latest - earliest).mul_f64(random.clamp(0.0, 1.0))
    }

    /// The wait after a success that was not a scheduled refresh: drawn from the equilibrium
    /// distribution of [`RefreshPolicy::refresh_delay`] (density proportional to the chance that
    /// a scheduled wait is longer), so hosts that all got credentials at one instant go on
    /// calling at the fleet's steady rate instead of in a wave one window later. Never sooner
    /// than `shortest_wait`.
    pub fn first_refresh_delay(&self, lifetime: Duration, random: f64) -> Duration {
        if let Some(fraction) = self.fixed_fraction {
            return lifetime.mul_f64(fraction);
        }
        let (earliest, latest) = self.refresh_window(lifetime);
        let (a, b) = (earliest.as_secs_f64(), latest.as_secs_f64());
        let mean = (a + b) / 2.0;
        if mean <= 0.0 {
            return earliest;
        }
        // The equilibrium CDF of U[a, b]: x / mean up to a, then 1 - (b - x)² / (2 (b - a) mean).
        let cdf = |x: f64| {
            if x <= a {
                x / mean
            } else if x >= b {
                1.0
            } else {
                1.0 - (b - x) * (b - x) / (2.0 * (b - a) * mean)
            }
        };
        // Drawn above `shortest_wait` (a gap rather than a pile of calls at it).
        let shortest = self.shortest_wait.as_secs_f64().min(a);
        let u = cdf(shortest) + (1.0 - cdf(shortest)) * random.clamp(0.0, 1.0);
        let seconds = if u * mean <= a {
            u * mean
        } else {
            b - ((1.0 - u) * 2.0 * (b - a) * mean).max(0.0).sqrt()
        };
        Duration::from_secs_f64(seconds.clamp(shortest, b))
    }

    /// The wait before retry number `failures` (1-based). `remaining` is how long the
    /// credentials in hand stay valid: `None` when the process never had any, zero once they
    /// expired. Never had any: exponential from `retry_base`, capped at `retry_max`. Still valid:
    /// no hurry (the client already retried within the fetch), so a random wait of up to
    /// `retry_max_while_valid`, but no later than their expiry. Expired: `retry_max`. Equal
    /// jitter: half the step plus a random part of the other half, never zero, so a failing
    /// endpoint is never hammered. Long steady waits (rather than a backoff starting small again
    /// at each change) keep a fleet's retries spread: when an outage ends they come at a rate
    /// close to the fleet's steady one, not all within the first minutes.
    pub fn retry_delay(&self, failures: u32, remaining: Option<Duration>, random: f64) -> Duration {
        let jittered = |step: Duration| step / 2 + (step / 2).mul_f64(random.clamp(0.0, 1.0));
        match remaining {
            None => jittered(
                self.retry_base
                    .saturating_mul(1u32 << failures.saturating_sub(1).min(20))
                    .min(self.retry_max),
            ),
            Some(left) if left.is_zero() => {
                let lo = self.retry_earliest_fraction_expired.clamp(0.0, 1.0);
                self.retry_max
                    .mul_f64(lo + (1.0 - lo) * random.clamp(0.0, 1.0))
                    .max(self.shortest_wait.min(self.retry_max))
            }
            Some(left) => jittered(self.retry_max_while_valid).min(left),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);
    const RANDOMS: [f64; 7] = [0.0, 0.01, 0.25, 0.5, 0.75, 0.99, 1.0];

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn a_scheduled_refresh_falls_in_its_window_of_the_lifetime() {
        let policy = RefreshPolicy::default();
        // (lifetime, window): 40% to 60%, ending 20 minutes before expiry; a quarter of short
        // lifetimes, never under a minute.
        for (lifetime, window) in [
            (HOUR, (secs(1440), secs(2160))),
            (secs(43200), (secs(17280), secs(25920))),
            (secs(900), (secs(225), secs(225))),
            (secs(120), (secs(60), secs(60))),
        ] {
            assert_eq!(policy.refresh_window(lifetime), window, "{lifetime:?}");
            for random in RANDOMS {
                let wait = policy.refresh_delay(lifetime, random);
                assert!(
                    wait >= window.0 && wait <= window.1,
                    "{lifetime:?} {random}"
                );
            }
            assert_eq!(policy.refresh_delay(lifetime, 0.0), window.0);
            assert_eq!(policy.refresh_delay(lifetime, 1.0), window.1);
        }
    }

    #[test]
    fn the_first_refresh_is_spread_over_the_whole_window_and_comes_earlier_on_average() {
        let policy = RefreshPolicy::default();
        let draws: Vec<Duration> = (0..10_000)
            .map(|i| policy.first_refresh_delay(HOUR, f64::from(i) / 10_000.0))
            .collect();
        assert!(
            draws.windows(2).all(|w| w[0] <= w[1]),
            "monotonic in random"
        );
        assert!(draws.iter().all(|d| *d >= secs(60) && *d <= secs(2160)));
        // Flat below the window's start (as many in each minute), thinning out over it.
        let in_range = |a: u64, b: u64| {
            draws
                .iter()
                .filter(|d| **d >= secs(a) && **d < secs(b))
                .count()
        };
        let (early, late) = (in_range(120, 420), in_range(1100, 1400));
        assert!(early.abs_diff(late) < early / 20, "{early} vs {late}");
        assert!(in_range(1860, 2160) < early / 3);
        // The equilibrium mean of U[1440, 2160] is E[D²] / 2E[D] = 912 s (a little more for
        // the first minute left out), against 1800 s for a scheduled refresh.
        let mean = draws.iter().map(Duration::as_secs_f64).sum::<f64>() / draws.len() as f64;
        assert!((915.0..965.0).contains(&mean), "{mean}");
    }

    #[test]
    fn without_credentials_retries_back_off_exponentially_to_the_cap() {
        let policy = RefreshPolicy::default();
        assert_eq!(policy.retry_delay(1, None, 0.0), Duration::from_millis(500));
        assert_eq!(policy.retry_delay(1, None, 1.0), secs(1));
        assert_eq!(policy.retry_delay(3, None, 1.0), secs(4));
        assert_eq!(policy.retry_delay(12, None, 1.0), policy.retry_max);
        assert_eq!(
            policy.retry_delay(u32::MAX, None, 0.0),
            policy.retry_max / 2
        );
        for failures in [1, 2, 5, 10, 20, 40] {
            for random in RANDOMS {
                let wait = policy.retry_delay(failures, None, random);
                assert!(wait > Duration::ZERO && wait <= policy.retry_max);
            }
        }
    }

    #[test]
    fn with_valid_credentials_a_retry_waits_but_never_past_their_expiry_once_expired_up_to_the_cap()
    {
        let policy = RefreshPolicy::default();
        for left in [secs(30), secs(1200), secs(1800), secs(7200), secs(30000)] {
            for random in RANDOMS {
                let wait = policy.retry_delay(1, Some(left), random);
                assert!(wait <= left, "{left:?} {random}");
                assert!(
                    wait >= (policy.retry_max_while_valid / 2).min(left),
                    "{left:?} {random}"
                );
            }
        }
        // Once they expired: anywhere up to the longest step at once, never under a minute.
        assert_eq!(
            policy.retry_delay(1, Some(Duration::ZERO), 1.0),
            policy.retry_max
        );
        assert_eq!(
            policy.retry_delay(1, Some(Duration::ZERO), 0.5),
            policy.retry_max / 2
        );
        assert_eq!(
            policy.retry_delay(1, Some(Duration::ZERO), 0.0),
            policy.shortest_wait
        );
    }

    #[test]
    fn next_wait_reads_the_lifetime_and_the_time_left_from_the_expiry() {
        let policy = RefreshPolicy::default();
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20000);
        let in_an_hour = Some(now + time::Duration::hours(1));
        assert_eq!(
            policy.next_wait(now, in_an_hour, Last::Refreshed, 0.0),
            secs(1440)
        );
        assert_eq!(
            policy.next_wait(now, in_an_hour, Last::Recovered, 0.0),
            secs(60)
        );
        let expired = Some(now - time::Duration::minutes(5));
        assert_eq!(
            policy.next_wait(now, expired, Last::Failed(3), 1.0),
            policy.retry_max
        );
        assert_eq!(policy.next_wait(now, None, Last::Failed(3), 1.0), secs(4));
        assert_eq!(
            policy.next_wait(now, in_an_hour, Last::Failed(1), 1.0),
            secs(3600)
        );
    }

    #[test]
    fn the_test_override_refreshes_at_its_fraction_and_retries_within_two_seconds() {
        let policy = RefreshPolicy {
            fixed_fraction: Some(0.003),
            retry_max: secs(2),
            retry_max_while_valid: secs(2),
            ..RefreshPolicy::default()
        };
        assert_eq!(
            policy.refresh_delay(secs(900), 0.9),
            Duration::from_millis(2700)
        );
        assert_eq!(
            policy.first_refresh_delay(secs(900), 0.9),
            Duration::from_millis(2700)
        );
        assert!(policy.retry_delay(9, Some(secs(600)), 1.0) <= secs(2));
        assert!(policy.retry_delay(9, Some(Duration::ZERO), 1.0) <= secs(2));
    }
}
