//! The long-running commands, `serve` and `update`: one loop that keeps credentials fresh in
//! the background and hands each new set to a sink, until SIGTERM or SIGINT.

mod kept_identity;
mod kept_source;
pub mod refresher;
mod renewer;
pub mod schedule;
pub mod sd_notify;
pub mod serve;
mod signal;
pub mod update;

use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::session::prepared;
use crate::settings::credentials::CredentialSettings;
use crate::settings::renewal::RenewalSettings;
use kept_identity::KeptIdentity;
use kept_source::KeptSource;
use refresher::{Progress, RefreshPolicy};

/// Where fresh credentials go, who hears how the refresher is doing, and what systemd is told
/// once the first credentials got there.
pub(crate) struct Sink<D, R> {
    /// Receives every new set of credentials.
    pub(crate) deliver: D,
    /// Hears each fetch start and each failure (serve tells its waiting requests).
    pub(crate) report: R,
    /// systemd's `STATUS=` once ready.
    pub(crate) ready_status: &'static str,
}

/// systemd's `STATUS=` before the first credentials: what the service waits for and, once an
/// attempt failed, why it is still waiting, so `systemctl status` shows a failing boot's cause.
fn waiting_status(last_error: Option<&Error>) -> String {
    match last_error {
        None => "STATUS=waiting for the first credentials: the first CreateSession is in flight"
            .to_string(),
        Some(error) => format!(
            "STATUS=waiting for the first credentials: {}; retrying",
            one_line(&error.to_string())
        ),
    }
}

/// `text` on one line: an sd_notify datagram is newline-separated assignments, so a newline in
/// an error (which may quote the endpoint's answer) must not start a field such as `READY=1`.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Refreshes credentials for `settings` into `sink` until SIGTERM/SIGINT, or until the first
/// refresh shows the configuration is wrong (then its error). `start` runs first, inside the
/// runtime (serve starts its listeners there). The identity is loaded once and kept between
/// refreshes while the files it comes from do not change. With `renewal`, the certificate is
/// renewed in the background when it falls due. A role chain (`--assume-role-arn`) is refreshed
/// from the kept CreateSession credentials while they are valid: one AssumeRole, no
/// CreateSession.
pub(crate) fn run<D, R>(
    settings: CredentialSettings,
    renewal: Option<RenewalSettings>,
    sink: Sink<D, R>,
    start: impl AsyncFnOnce() -> Result<()>,
) -> Result<()>
where
    D: FnMut(Credentials) -> Result<()> + Send + 'static,
    R: FnMut(Progress<'_>) + Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("starting the async runtime: {e}")))?;
    let shutdown = {
        let _context = runtime.enter();
        signal::shutdown()?
    };
    let settings = std::sync::Arc::new(settings);
    let kept = std::sync::Arc::new(std::sync::Mutex::new(KeptIdentity::new(renewal.is_some())));
    let policy = RefreshPolicy::from_env();
    let renewer = match renewal {
        Some(renewal) => Some(renewer::spawn(
            settings.clone(),
            renewal,
            kept.clone(),
            renewer::retry_policy(&policy),
        )?),
        None => None,
    };
    let poke = renewer.clone();
    let mut source = KeptSource::default();
    let fetch = move || {
        // Before each refresh: the renewer checks whether the certificate fell due.
        if let Some(renewer) = &poke {
            renewer.poke();
        }
        let prepared = prepared::prepare(&settings, |spec| KeptIdentity::get_shared(&kept, spec))?;
        if prepared.inputs.chain.is_none() {
            return Ok(prepared.fetch(&settings.client)?.0);
        }
        let now = time::OffsetDateTime::now_utc();
        let from = source.get(now, || Ok(prepared.fetch(&settings.client)?.0))?;
        prepared.chain(&settings.client, from).inspect_err(|error| {
            source.forget_if_refused(error);
        })
    };
    let Sink {
        mut deliver,
        mut report,
        ready_status,
    } = sink;
    // Ready once the first credentials are delivered, never before: the delivery (and with it
    // READY=1) happens on the refresher thread, the reports too, so one flag serves both.
    let ready = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let deliver = {
        let ready = ready.clone();
        move |credentials: Credentials| {
            deliver(credentials)?;
            if !ready.swap(true, std::sync::atomic::Ordering::SeqCst) {
                sd_notify::notify(&format!("READY=1\nSTATUS={ready_status}"));
            } else {
                // Clears a "the last refresh failed" status (one datagram per refresh).
                sd_notify::notify(&format!("STATUS={ready_status}"));
            }
            Ok(())
        }
    };
    let report = move |progress: Progress<'_>| {
        let ready_now = ready.load(std::sync::atomic::Ordering::SeqCst);
        match (&progress, ready_now) {
            (Progress::Failed(error), false) => {
                sd_notify::notify(&waiting_status(Some(error)));
            }
            (Progress::Failed(error), true) => sd_notify::notify(&format!(
                "STATUS={ready_status}; the last refresh failed: {}; retrying",
                one_line(&error.to_string())
            )),
            (Progress::Fetching, _) => {}
        }
        report(progress);
    };
    sd_notify::notify(&waiting_status(None));
    let mut running = refresher::spawn(fetch, deliver, report, policy)?;
    let result = runtime.block_on(async {
        start().await?;
        refresher::until_shutdown_or_fatal(shutdown, &mut running.fatal).await
    });
    if let Some(renewer) = renewer {
        renewer.stop();
    }
    running.stop_and_wind_down();
    sd_notify::notify("STOPPING=1");
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_waiting_status_says_why_on_one_line() {
        assert_eq!(
            waiting_status(None),
            "STATUS=waiting for the first credentials: the first CreateSession is in flight"
        );
        let error = Error::Unavailable("503 from the endpoint\nREADY=1".into());
        let status = waiting_status(Some(&error));
        assert!(
            status.starts_with("STATUS=waiting for the first credentials: ")
                && status.contains("503 from the endpoint"),
            "{status}"
        );
        assert_eq!(status.lines().count(), 1, "no field injected: {status}");
    }
}
