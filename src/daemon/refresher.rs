//! The one credentials refresher behind `serve` and `update`: fetches credentials, hands them
//! on, and fetches again at a jittered point well before they expire, one CreateSession at a
//! time, retrying failures with exponential backoff and jitter.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use time::OffsetDateTime;

use super::schedule::Last;
pub use super::schedule::RefreshPolicy;
use crate::credentials::Credentials;
use crate::error::{Error, ExitClass, Result};

/// Credentials expiring sooner than this after they arrive are refused as unusable: a host
/// clock far off or an endpoint handing out stale credentials, never something to serve.
const MIN_FRESH_VALIDITY: Duration = Duration::from_secs(30);

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

/// Fetches once and checks the credentials are worth handing on; returns them with the time the
/// fetch was asked.
fn fetch_usable(
    fetch: &mut dyn FnMut() -> Result<Credentials>,
) -> Result<(Credentials, OffsetDateTime)> {
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
    Ok((credentials, asked_at))
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
    // The expiry of the credentials delivered last, and whether the next success is a scheduled
    // refresh (anything but the first fetch: a success ending a run of failures resumes the
    // schedule, see daemon::schedule): both steer the schedule.
    let mut held_expiry: Option<OffsetDateTime> = None;
    let mut scheduled = false;
    while !stop.is_stopped() {
        report(Progress::Fetching);
        let outcome = fetch_usable(fetch).and_then(|(credentials, asked_at)| {
            let expiration = credentials.expiration;
            deliver(credentials)?;
            Ok((expiration, asked_at))
        });
        let wait = match outcome {
            Ok((expiration, asked_at)) => {
                let last = if scheduled {
                    Last::Refreshed
                } else {
                    Last::Recovered
                };
                failures = 0;
                delivered_once = true;
                scheduled = true;
                held_expiry = Some(expiration);
                let wait = policy.next_wait(
                    asked_at,
                    Some(expiration),
                    last,
                    crate::support::random::fraction(),
                );
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
                let wait = policy.next_wait(
                    OffsetDateTime::now_utc(),
                    held_expiry,
                    Last::Failed(failures),
                    crate::support::random::fraction(),
                );
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
            retry_max_while_valid: Duration::from_millis(2),
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
