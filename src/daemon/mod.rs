//! The long-running commands, `serve` and `update`: one loop that keeps credentials fresh in
//! the background and hands each new set to a sink, until SIGTERM or SIGINT.

mod kept_identity;
pub mod refresher;
pub mod sd_notify;
pub mod serve;
mod signal;
pub mod update;

use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::session::prepared;
use crate::settings::credentials::CredentialSettings;
use kept_identity::KeptIdentity;
use refresher::RefreshPolicy;

/// Where fresh credentials go, and what systemd is told once the first ones got there.
pub(crate) struct Sink<D> {
    /// Receives every new set of credentials.
    pub(crate) deliver: D,
    /// systemd's `STATUS=` once ready.
    pub(crate) ready_status: &'static str,
}

/// Refreshes credentials for `settings` into `sink` until SIGTERM/SIGINT, or until the first
/// refresh shows the configuration is wrong (then its error). `start` runs first, inside the
/// runtime (serve starts its listeners there). The identity is loaded once and kept between
/// refreshes while the files it comes from do not change.
pub(crate) fn run<D>(
    settings: CredentialSettings,
    sink: Sink<D>,
    start: impl AsyncFnOnce() -> Result<()>,
) -> Result<()>
where
    D: FnMut(Credentials) -> Result<()> + Send + 'static,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("starting the async runtime: {e}")))?;
    let shutdown = {
        let _context = runtime.enter();
        signal::shutdown()?
    };
    let mut kept = KeptIdentity::default();
    let fetch = move || {
        let prepared = prepared::prepare(&settings, |spec| kept.get(spec))?;
        Ok(prepared.fetch(&settings.client)?.0)
    };
    let Sink {
        mut deliver,
        ready_status,
    } = sink;
    let mut ready = false;
    let deliver = move |credentials: Credentials| {
        deliver(credentials)?;
        if !ready {
            ready = true;
            sd_notify::notify(&format!("READY=1\nSTATUS={ready_status}"));
        }
        Ok(())
    };
    let mut running = refresher::spawn(fetch, deliver, RefreshPolicy::from_env())?;
    let result = runtime.block_on(async {
        start().await?;
        refresher::until_shutdown_or_fatal(shutdown, &mut running.fatal).await
    });
    running.stop_and_wind_down();
    sd_notify::notify("STOPPING=1");
    result
}
