//! The shutdown signal of the long-running commands: SIGINT or SIGTERM.

use crate::error::{Error, Result};

/// Resolves on SIGINT or SIGTERM. Installs the handlers at once (inside a runtime), so a signal
/// sent as soon as the service says it is ready is always caught.
pub(crate) fn shutdown() -> Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let signal_error =
        |e: std::io::Error| Error::Internal(format!("installing signal handlers: {e}"));
    let mut interrupt = signal(SignalKind::interrupt()).map_err(signal_error)?;
    let mut terminate = signal(SignalKind::terminate()).map_err(signal_error)?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    })
}
