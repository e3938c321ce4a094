//! `exec`'s runner: a command started with the credentials and the region in its environment,
//! with the signals a terminal or a service manager sends forwarded to it.

use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::output::export::variables;
use crate::support::timestamp::iso8601;

/// Gets credentials with `fetch`, then runs `command` with them and the region in its
/// environment, forwarding the signals a terminal or a service manager sends, and returns the
/// exit code to leave with (128 + the signal number when the command was killed by one, as
/// shells do).
///
/// Call it from the main thread before any other thread exists: the forwarded signals are
/// blocked first, so every thread made later (the HTTP client's included) leaves them to the
/// forwarder rather than dying of them.
pub fn run(
    fetch: impl FnOnce() -> Result<(Credentials, String)>,
    command: &[String],
) -> Result<i32> {
    use std::os::unix::process::ExitStatusExt;
    let Some((program, args)) = command.split_first() else {
        return Err(Error::invalid_argument(
            "exec",
            "give the command to run after --",
        ));
    };
    let signals = block_forwarded_signals();
    let (credentials, region) = fetch()?;
    let region = region.as_str();
    let expiration = iso8601(credentials.expiration);
    let mut child_command = std::process::Command::new(program);
    child_command.args(args);
    for (name, value) in variables(&credentials, &expiration) {
        child_command.env(name, value);
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
        .map_err(|e| Error::invalid_argument("exec", format!("cannot run {program}: {e}")))?;
    let forwarder = SignalForwarder::start(child.id(), signals);
    let status = child
        .wait()
        .map_err(|e| Error::Internal(format!("waiting for {program}: {e}")))?;
    drop(forwarder);
    Ok(match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        (None, None) => 1,
    })
}

/// Forwards SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 to a child while it runs.
struct SignalForwarder {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

const FORWARDED: [libc::c_int; 6] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR1,
    libc::SIGUSR2,
];

/// Blocks the forwarded signals in this thread (and so in every thread it creates later); they
/// are then read synchronously with sigtimedwait, free of async-signal-safety concerns. Child
/// processes start with an empty mask (the standard library resets it).
fn block_forwarded_signals() -> libc::sigset_t {
    // SAFETY: plain libc calls on a local, initialised signal set.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for signal in FORWARDED {
            libc::sigaddset(&mut set, signal);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

impl SignalForwarder {
    fn start(child: u32, set: libc::sigset_t) -> SignalForwarder {
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop_flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let timeout = libc::timespec {
                tv_sec: 0,
                tv_nsec: 50_000_000,
            };
            while !stop_flag.load(Ordering::SeqCst) {
                // SAFETY: `set` is a valid signal set; a null info pointer is allowed.
                let signal = unsafe { libc::sigtimedwait(&set, std::ptr::null_mut(), &timeout) };
                if signal > 0 {
                    // SAFETY: sending a signal to the child this process started.
                    unsafe { libc::kill(child as libc::pid_t, signal) };
                }
            }
        });
        SignalForwarder {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for SignalForwarder {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
