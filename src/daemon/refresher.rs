//! The one credentials refresher behind `serve` and `update`: fetches credentials, hands them
//! on, and fetches again at a jittered point well before they expire, one CreateSession at a
//! time, retrying failures with exponential backoff and jitter.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use time::OffsetDateTime;

use crate::credentials::Credentials;
use crate::error::{Error, ExitClass, Result};

/// Test-only: refresh after exactly this fraction of the lifetime (e.g. `0.003`), with retry
/// waits of at most 2 s, so tests see refreshes within seconds. Never set it in production.
pub const TEST_REFRESH_FRACTION_ENV: &str = "RAH_TEST_REFRESH_FRACTION";

/// Credentials expiring sooner than this after they arrive are refused as unusable: a host
/// clock far off or an endpoint handing out stale credentials, never something to serve.
const MIN_FRESH_VALIDITY: Duration = Duration::from_secs(30);

/// When to refresh, and how to wait after a failure.
#[derive(Debug, Clone)]
pub struct RefreshPolicy {
    /// Refresh at a uniformly random point in this fraction range of the lifetime.
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
    /// The longest wait between retries.
    pub retry_max: Duration,
    /// Test-only override (see [`TEST_REFRESH_FRACTION_ENV`]).
    pub fixed_fraction: Option<f64>,
}

impl Default for RefreshPolicy {
    fn default() -> Self {
        RefreshPolicy {
            earliest_fraction: 0.5,
            latest_fraction: 0.7,
            margin_before_expiry: Duration::from_secs(20 * 60),
            shortest_wait: Duration::from_secs(60),
            retry_base: Duration::from_secs(1),
            retry_max: Duration::from_secs(60),
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
                    ..RefreshPolicy::default()
                }
            }
            None => RefreshPolicy::default(),
        }
    }

    /// How long to wait after receiving credentials valid for `lifetime`; `random` in [0, 1).
    pub fn refresh_delay(&self, lifetime: Duration, random: f64) -> Duration {
        if let Some(fraction) = self.fixed_fraction {
            return lifetime.mul_f64(fraction);
        }
        let span = self.latest_fraction - self.earliest_fraction;
        let jittered = lifetime.mul_f64(self.earliest_fraction + span * random.clamp(0.0, 1.0));
        let latest = lifetime.saturating_sub(self.margin_before_expiry);
        // With lifetimes under 40 minutes the margin cannot be met; refresh after a quarter of
        // the lifetime then, but never in a tight loop.
        let floor = (lifetime / 4).max(self.shortest_wait).min(jittered);
        jittered.min(latest).max(floor)
    }

    /// The wait before retry number `failures` (1-based): exponential, capped, equal jitter
    /// (never zero, so a failing endpoint is never hammered).
    pub fn retry_delay(&self, failures: u32, random: f64) -> Duration {
        let cap = self
            .retry_base
            .saturating_mul(1u32 << failures.saturating_sub(1).min(16))
            .min(self.retry_max);
        cap / 2 + (cap / 2).mul_f64(random.clamp(0.0, 1.0))
    }
}

/// A stop signal the refresher's waits wake up for.
#[derive(Default)]
pub struct Stop {
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl Stop {
    /// Stops the refresher and wakes any wait.
    pub fn stop(&self) {
        *self.stopped.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.wake.notify_all();
    }

    /// Whether [`Stop::stop`] was called.
    pub fn is_stopped(&self) -> bool {
        *self.stopped.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Sleeps for `duration` or until stopped; true when stopped.
    pub fn wait(&self, duration: Duration) -> bool {
        let guard = self.stopped.lock().unwrap_or_else(|p| p.into_inner());
        let (guard, _) = self
            .wake
            .wait_timeout_while(guard, duration, |stopped| !*stopped)
            .unwrap_or_else(|p| p.into_inner());
        *guard
    }
}

/// Fetches once and checks the credentials are worth handing on; returns their lifetime.
fn fetch_usable(fetch: &mut dyn FnMut() -> Result<Credentials>) -> Result<(Credentials, Duration)> {
    let asked_at = OffsetDateTime::now_utc();
    let credentials = fetch()?;
    let lifetime = credentials.expiration - asked_at;
    let lifetime = Duration::try_from(lifetime).unwrap_or(Duration::ZERO);
    if lifetime < MIN_FRESH_VALIDITY {
        return Err(Error::Unavailable(format!(
            "the endpoint returned credentials expiring at {}, already expired or about to; check the system clock",
            crate::support::timestamp::iso8601(credentials.expiration)
        )));
    }
    Ok((credentials, lifetime))
}

/// What the refresher is doing, for whoever answers while it works (serve's waiting requests,
/// systemd's `STATUS=`). A success is the delivery itself.
#[derive(Debug)]
pub enum Progress<'a> {
    /// A fetch (one CreateSession, with its own retries) starts.
    Fetching,
    /// That fetch failed, or its credentials were unusable or could not be delivered; the
    /// refresher retries after its backoff.
    Failed(&'a Error),
}

/// Fetches credentials and hands them to `deliver` until `stop`, refreshing before expiry and
/// retrying failures forever, telling `report` when each fetch starts and when one fails. Only a
/// usage or local-input error before the first success ends it with an error (the configuration
/// is wrong; a later one is retried, e.g. a certificate caught mid-rewrite).
pub fn run(
    fetch: &mut dyn FnMut() -> Result<Credentials>,
    deliver: &mut dyn FnMut(Credentials) -> Result<()>,
    report: &mut dyn FnMut(Progress<'_>),
    policy: &RefreshPolicy,
    stop: &Stop,
) -> Result<()> {
    let mut failures: u32 = 0;
    let mut delivered_once = false;
    while !stop.is_stopped() {
        report(Progress::Fetching);
        let outcome = fetch_usable(fetch).and_then(|(credentials, lifetime)| {
            let expiration = credentials.expiration;
            deliver(credentials)?;
            Ok((expiration, lifetime))
        });
        let wait = match outcome {
            Ok((expiration, lifetime)) => {
                failures = 0;
                delivered_once = true;
                let wait = policy.refresh_delay(lifetime, crate::support::random::fraction());
                tracing::info!(
                    expiration = %crate::support::timestamp::iso8601(expiration),
                    next_refresh_in_s = wait.as_secs(),
                    "credentials refreshed"
                );
                wait
            }
            Err(error) => {
                report(Progress::Failed(&error));
                if !delivered_once
                    && matches!(error.class(), ExitClass::Usage | ExitClass::BadInput)
                {
                    return Err(error);
                }
                failures = failures.saturating_add(1);
                let wait = policy.retry_delay(failures, crate::support::random::fraction());
                tracing::warn!(
                    failures,
                    retry_in_ms = wait.as_millis() as u64,
                    "refreshing credentials failed: {error}"
                );
                wait
            }
        };
        if sleep_by_the_wall_clock(stop, wait) {
            break;
        }
    }
    Ok(())
}

/// The longest single sleep: the monotonic clock stands still while a machine is suspended, so
/// long waits are cut into slices and checked against the wall clock, which credentials'
/// expiry follows.
const WALL_CLOCK_CHECK: Duration = Duration::from_secs(30);

/// Sleeps until `wait` has passed on the wall clock, or until stopped (then true).
fn sleep_by_the_wall_clock(stop: &Stop, wait: Duration) -> bool {
    let until = OffsetDateTime::now_utc() + wait;
    loop {
        let left = Duration::try_from(until - OffsetDateTime::now_utc()).unwrap_or(Duration::ZERO);
        if left.is_zero() {
            return stop.is_stopped();
        }
        if stop.wait(left.min(WALL_CLOCK_CHECK)) {
            return true;
        }
    }
}

/// Runs [`run`] on a thread of its own (fetching blocks: signing, file reads, its own HTTP
/// runtime). Stop it with the returned [`Stop`]; the receiver gets the error that ended it, if
/// one did.
pub fn spawn(
    mut fetch: impl FnMut() -> Result<Credentials> + Send + 'static,
    mut deliver: impl FnMut(Credentials) -> Result<()> + Send + 'static,
    mut report: impl FnMut(Progress<'_>) + Send + 'static,
    policy: RefreshPolicy,
) -> Result<Running> {
    let stop = Arc::new(Stop::default());
    let (fatal_sender, fatal) = tokio::sync::oneshot::channel::<Error>();
    let thread_stop = stop.clone();
    let thread = std::thread::Builder::new()
        .name("refresher".into())
        .spawn(move || {
            if let Err(e) = run(&mut fetch, &mut deliver, &mut report, &policy, &thread_stop) {
                let _ = fatal_sender.send(e);
            }
        })
        .map_err(|e| Error::Internal(format!("starting the refresher thread: {e}")))?;
    Ok(Running {
        stop,
        fatal,
        thread,
    })
}

/// A refresher running on its own thread.
pub struct Running {
    /// Stops it.
    pub stop: Arc<Stop>,
    /// Receives the error that ended it, if one did.
    pub fatal: tokio::sync::oneshot::Receiver<Error>,
    thread: std::thread::JoinHandle<()>,
}

/// How long a stopped refresher may take to finish what it holds (a TPM flush, a token logout)
/// before the process leaves without it; a CreateSession in flight is not waited for.
const WIND_DOWN: Duration = Duration::from_secs(2);

impl Running {
    /// Stops the refresher and waits, briefly, for its thread to drop what it holds.
    pub fn stop_and_wind_down(self) {
        self.stop.stop();
        let started = std::time::Instant::now();
        while !self.thread.is_finished() && started.elapsed() < WIND_DOWN {
            std::thread::sleep(Duration::from_millis(5));
        }
        if self.thread.is_finished() {
            let _ = self.thread.join();
        }
    }
}

/// Waits for `shutdown`, or for the refresher to end with an error (then that error).
pub async fn until_shutdown_or_fatal(
    shutdown: impl std::future::Future<Output = ()>,
    fatal: &mut tokio::sync::oneshot::Receiver<Error>,
) -> Result<()> {
    tokio::select! {
        () = shutdown => Ok(()),
        fatal = fatal => match fatal {
            Ok(error) => Err(error),
            Err(_) => Err(Error::Internal("the credentials refresher stopped".into())),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials(valid_for: time::Duration) -> Credentials {
        Credentials {
            access_key_id: "ASIATEST".into(),
            secret_access_key: "secret".into(),
            session_token: "token".into(),
            expiration: OffsetDateTime::now_utc() + valid_for,
        }
    }

    #[test]
    fn refreshes_at_half_to_seventy_percent_and_twenty_minutes_before_expiry() {
        let policy = RefreshPolicy::default();
        let hour = Duration::from_secs(3600);
        assert_eq!(policy.refresh_delay(hour, 0.0), Duration::from_secs(1800));
        // 70% would be 42 minutes, later than 20 minutes before expiry.
        assert_eq!(policy.refresh_delay(hour, 1.0), Duration::from_secs(2400));
        let twelve_hours = Duration::from_secs(43200);
        assert_eq!(
            policy.refresh_delay(twelve_hours, 1.0),
            twelve_hours.mul_f64(0.7)
        );
        // 15-minute sessions: a quarter of the lifetime, not an immediate loop.
        let short = Duration::from_secs(900);
        assert_eq!(policy.refresh_delay(short, 0.5), Duration::from_secs(225));
        for random in [0.0, 0.3, 0.99] {
            let d = policy.refresh_delay(hour, random);
            assert!(d >= Duration::from_secs(1800) && d <= Duration::from_secs(2400));
        }
    }

    #[test]
    fn retry_waits_grow_with_jitter_and_are_capped() {
        let policy = RefreshPolicy::default();
        assert_eq!(policy.retry_delay(1, 0.0), Duration::from_millis(500));
        assert_eq!(policy.retry_delay(1, 1.0), Duration::from_secs(1));
        assert_eq!(policy.retry_delay(3, 1.0), Duration::from_secs(4));
        assert_eq!(policy.retry_delay(30, 1.0), Duration::from_secs(60));
        assert!(policy.retry_delay(30, 0.0) >= Duration::from_secs(30));
    }

    #[test]
    fn a_bad_configuration_ends_it_but_service_failures_are_retried() {
        let stop = Stop::default();
        let mut fetch = || Err(Error::bad_input("--certificate x", "no such file"));
        let mut deliver = |_c: Credentials| Ok(());
        let mut report = |_: Progress<'_>| {};
        let result = run(
            &mut fetch,
            &mut deliver,
            &mut report,
            &RefreshPolicy::default(),
            &stop,
        );
        assert!(matches!(result, Err(Error::BadInput { .. })));

        let policy = RefreshPolicy {
            retry_base: Duration::from_millis(1),
            retry_max: Duration::from_millis(2),
            ..RefreshPolicy::default()
        };
        let stop = Arc::new(Stop::default());
        let mut calls = 0;
        let mut delivered = Vec::new();
        let stopper = stop.clone();
        let mut fetch = || {
            calls += 1;
            match calls {
                1 | 2 => Err(Error::Unavailable("503".into())),
                // Already expired: must never be delivered.
                3 => Ok(credentials(time::Duration::seconds(-5))),
                _ => {
                    stopper.stop();
                    Ok(credentials(time::Duration::hours(1)))
                }
            }
        };
        let mut deliver = |c: Credentials| {
            delivered.push(c.expiration);
            Ok(())
        };
        let mut reported = Vec::new();
        let mut report = |progress: Progress<'_>| {
            reported.push(match progress {
                Progress::Fetching => "fetching".to_string(),
                Progress::Failed(e) => format!("failed: {e}"),
            })
        };
        run(&mut fetch, &mut deliver, &mut report, &policy, &stop).unwrap();
        assert_eq!(calls, 4);
        // Every fetch announced, every failure (the stale answer included) reported with its
        // reason: what serve's waiting requests and systemd's STATUS= are told.
        assert_eq!(reported.len(), 7, "{reported:?}");
        assert_eq!(
            reported.iter().filter(|r| *r == "fetching").count(),
            4,
            "{reported:?}"
        );
        assert!(reported[1].starts_with("failed: ") && reported[1].contains("503"));
        assert!(reported[5].contains("already expired"), "{reported:?}");
        assert_eq!(delivered.len(), 1);
        assert!(delivered[0] > OffsetDateTime::now_utc());
    }

    #[test]
    fn stop_wakes_a_long_wait() {
        let stop = Arc::new(Stop::default());
        let other = stop.clone();
        let started = std::time::Instant::now();
        let waiter = std::thread::spawn(move || other.wait(Duration::from_secs(60)));
        std::thread::sleep(Duration::from_millis(20));
        stop.stop();
        assert!(waiter.join().unwrap());
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}
