//! The background renewer of `serve` and `update`: checks the certificate at start, before each
//! refresh (the refresher pokes it) and when it falls due, renews it with `--renew-command`
//! through the kept identity's key, and retries a failed renewal with backoff while the current
//! certificate keeps working. The next CreateSession after a renewal loads the new certificate.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use time::OffsetDateTime;

use super::kept_identity::KeptIdentity;
use super::refresher::RefreshPolicy;
use crate::enrollment::renew::{self, Outcome};
use crate::error::{Error, Result};
use crate::settings::credentials::CredentialSettings;
use crate::settings::renewal::RenewalSettings;
use crate::support::timestamp::iso8601;

/// The longest wait between two checks when nothing pokes the renewer.
const LONGEST_WAIT: Duration = Duration::from_secs(6 * 3600);

/// Waits of the monotonic clock are cut into slices this long and checked against the wall
/// clock, which stands still neither in a suspend nor for the certificate's expiry.
const WALL_CLOCK_CHECK: Duration = Duration::from_secs(30);

#[derive(Default)]
struct State {
    stopped: bool,
    poked: bool,
}

/// Wakes the renewer: a poke asks for a check now, a stop ends it.
#[derive(Default)]
pub(crate) struct Wake {
    state: Mutex<State>,
    condvar: Condvar,
}

impl Wake {
    /// Asks for a check (before a refresh); ignored while a failed renewal waits its backoff.
    pub(crate) fn poke(&self) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).poked = true;
        self.condvar.notify_all();
    }

    /// Ends the renewer at its next wait.
    pub(crate) fn stop(&self) {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).stopped = true;
        self.condvar.notify_all();
    }

    /// Sleeps `wait` by the wall clock, or until stopped (then true), or until poked when
    /// `pokeable`.
    fn sleep(&self, wait: Duration, pokeable: bool) -> bool {
        let until = OffsetDateTime::now_utc() + wait;
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if !pokeable {
            state.poked = false;
        }
        loop {
            if state.stopped {
                return true;
            }
            if pokeable && state.poked {
                state.poked = false;
                return false;
            }
            let left =
                Duration::try_from(until - OffsetDateTime::now_utc()).unwrap_or(Duration::ZERO);
            if left.is_zero() {
                state.poked = false;
                return false;
            }
            state = self
                .condvar
                .wait_timeout(state, left.min(WALL_CLOCK_CHECK))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

/// Starts the renewer thread; stop it with [`Wake::stop`] on the returned handle.
pub(crate) fn spawn(
    settings: Arc<CredentialSettings>,
    renewal: RenewalSettings,
    kept: Arc<Mutex<KeptIdentity>>,
    policy: RefreshPolicy,
) -> Result<Arc<Wake>> {
    let wake = Arc::new(Wake::default());
    let thread_wake = wake.clone();
    std::thread::Builder::new()
        .name("renewer".into())
        .spawn(move || run(&settings, &renewal, &kept, &policy, &thread_wake))
        .map_err(|e| Error::Internal(format!("starting the renewer thread: {e}")))?;
    Ok(wake)
}

/// Checks, renews when due, and waits, until stopped.
fn run(
    settings: &CredentialSettings,
    renewal: &RenewalSettings,
    kept: &Mutex<KeptIdentity>,
    policy: &RefreshPolicy,
    wake: &Wake,
) {
    let spec = &settings.identity;
    let mut failures: u32 = 0;
    loop {
        let now = OffsetDateTime::now_utc();
        let mut identity = || KeptIdentity::get_shared(kept, spec);
        let (wait, pokeable) = match renew::renew_if_due(spec, renewal, &mut identity, now) {
            Ok(Outcome::NotDue { renew_at, .. }) => {
                failures = 0;
                tracing::debug!(renew_at = %iso8601(renew_at), "the certificate is not due for renewal");
                let until_due = Duration::try_from(renew_at - now).unwrap_or(Duration::ZERO);
                (until_due.clamp(Duration::from_secs(1), LONGEST_WAIT), true)
            }
            Ok(Outcome::Renewed { serial, not_after }) => {
                failures = 0;
                tracing::warn!(
                    serial,
                    valid_until = %iso8601(not_after),
                    "the certificate was renewed; the next CreateSession uses it"
                );
                (Duration::ZERO, true)
            }
            Err(error) => {
                failures = failures.saturating_add(1);
                let wait = policy.retry_delay(failures, None, crate::support::random::fraction());
                tracing::warn!(
                    failures,
                    retry_in_s = wait.as_secs(),
                    "renewing the certificate failed; the current certificate is used meanwhile: {error}"
                );
                (wait, false)
            }
        };
        if wake.sleep(wait, pokeable) {
            return;
        }
    }
}

/// The backoff of failed renewals: a CA that fails is asked again after seconds, then minutes,
/// at most every 15 minutes; the accelerated test policy keeps its short waits.
pub(crate) fn retry_policy(refresh: &RefreshPolicy) -> RefreshPolicy {
    if refresh.fixed_fraction.is_some() {
        return refresh.clone();
    }
    RefreshPolicy {
        retry_base: Duration::from_secs(5),
        retry_max: Duration::from_secs(15 * 60),
        ..refresh.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poke_wakes_a_check_but_not_a_backoff_and_stop_ends_both() {
        let wake = Arc::new(Wake::default());
        wake.poke();
        let started = std::time::Instant::now();
        assert!(!wake.sleep(Duration::from_secs(60), true));
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "the poke woke it"
        );

        wake.poke();
        let started = std::time::Instant::now();
        assert!(!wake.sleep(Duration::from_millis(300), false));
        assert!(
            started.elapsed() >= Duration::from_millis(300),
            "a backoff is waited out whatever pokes it"
        );

        let stopper = wake.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            stopper.stop();
        });
        assert!(wake.sleep(Duration::from_secs(60), false));
    }
}
