//! `exec`'s runner: a command started with the credentials and the region in its environment,
//! with the signals a terminal or a service manager sends forwarded to it.

use rustix::process::{Pid, Signal};

use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::output::export::variables;
use crate::support::timestamp::iso8601;

/// Gets credentials with `fetch`, then runs `command` with them and the region in its
/// environment, forwarding the signals a terminal or a service manager sends, and returns the
/// exit code to leave with (128 + the signal number when the command was killed by one, as
/// shells do).
///
/// The forwarded signals are caught from the start, before the credentials are fetched: one
/// that arrives meanwhile neither kills the helper nor is lost, but goes to the command once it
/// runs.
pub fn run(
    fetch: impl FnOnce() -> Result<(Credentials, String)>,
    command: &[std::ffi::OsString],
) -> Result<i32> {
    use std::os::unix::process::ExitStatusExt;
    let Some((program, args)) = command.split_first() else {
        return Err(Error::invalid_argument(
            "exec",
            "give the command to run after --",
        ));
    };
    let signals = CaughtSignals::catch()?;
    let (credentials, region) = fetch()?;
    let region = region.as_str();
    let expiration = iso8601(credentials.expiration);
    let shown = std::path::Path::new(program).display();
    let mut child_command = std::process::Command::new(program);
    child_command.args(args);
    for (name, value) in variables(&credentials, &expiration) {
        child_command.env(name, value);
    }
    // The certificate or key given as `env:NAME`, the PKCS#11 PIN and serve's container token
    // are ours, not the command's.
    for name in crate::support::input_file::secret_environment_names() {
        child_command.env_remove(name);
    }
    // Profiles and static keys in the environment would compete with the credentials given here.
    child_command
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_DEFAULT_PROFILE");
    child_command
        .env("AWS_REGION", region)
        .env("AWS_DEFAULT_REGION", region);
    let mut child = child_command
        .spawn()
        .map_err(|e| Error::invalid_argument("exec", format!("cannot run {shown}: {e}")))?;
    let forwarder = signals.forward_to(child.id())?;
    let status = child
        .wait()
        .map_err(|e| Error::Internal(format!("waiting for {shown}: {e}")))?;
    drop(forwarder);
    Ok(match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        (None, None) => 1,
    })
}

/// SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2, caught by handlers (never by a
/// blocked mask, which a child would inherit), on a runtime of their own.
struct CaughtSignals {
    runtime: tokio::runtime::Runtime,
    streams: [(tokio::signal::unix::Signal, Signal); 6],
}

impl CaughtSignals {
    /// Installs the handlers.
    fn catch() -> Result<CaughtSignals> {
        use tokio::signal::unix::{SignalKind, signal};
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Internal(format!("starting the signal runtime: {e}")))?;
        let _context = runtime.enter();
        let catch = |kind: SignalKind, forwarded: Signal| {
            signal(kind)
                .map(|stream| (stream, forwarded))
                .map_err(|e| Error::Internal(format!("installing signal handlers: {e}")))
        };
        let streams = [
            catch(SignalKind::interrupt(), Signal::INT)?,
            catch(SignalKind::terminate(), Signal::TERM)?,
            catch(SignalKind::hangup(), Signal::HUP)?,
            catch(SignalKind::quit(), Signal::QUIT)?,
            catch(SignalKind::user_defined1(), Signal::USR1)?,
            catch(SignalKind::user_defined2(), Signal::USR2)?,
        ];
        drop(_context);
        Ok(CaughtSignals { runtime, streams })
    }

    /// Sends every caught signal, those caught before too, to `child` until dropped.
    fn forward_to(self, child: u32) -> Result<SignalForwarder> {
        let pid = i32::try_from(child)
            .ok()
            .and_then(Pid::from_raw)
            .ok_or_else(|| Error::Internal(format!("process id {child}")))?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let CaughtSignals { runtime, streams } = self;
        let thread = std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || runtime.block_on(forward(streams, pid, stopped)))
            .map_err(|e| Error::Internal(format!("starting a thread: {e}")))?;
        Ok(SignalForwarder {
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

/// Forwards each signal as it arrives, until `stopped`.
async fn forward(
    streams: [(tokio::signal::unix::Signal, Signal); 6],
    child: Pid,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
) {
    let [
        (mut a, sa),
        (mut b, sb),
        (mut c, sc),
        (mut d, sd),
        (mut e, se),
        (mut f, sf),
    ] = streams;
    loop {
        let signal = tokio::select! {
            _ = &mut stopped => return,
            _ = a.recv() => sa,
            _ = b.recv() => sb,
            _ = c.recv() => sc,
            _ = d.recv() => sd,
            _ = e.recv() => se,
            _ = f.recv() => sf,
        };
        // The child may have exited meanwhile: nothing to forward to then.
        let _ = rustix::process::kill_process(child, signal);
    }
}

/// The thread forwarding signals to a running child.
struct SignalForwarder {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for SignalForwarder {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
