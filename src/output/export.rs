//! Credentials handed to other programs: printed in the AWS CLI's `configure export-credentials`
//! formats, or set in the environment of a command run by `exec`.

use zeroize::Zeroizing;

use crate::cli::ExportFormat;
use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::output::iso8601;

/// The environment variables the SDKs read, with their values.
fn variables<'a>(
    credentials: &'a Credentials,
    expiration: &'a str,
) -> [(&'static str, &'a str); 4] {
    [
        ("AWS_ACCESS_KEY_ID", credentials.access_key_id.as_str()),
        (
            "AWS_SECRET_ACCESS_KEY",
            credentials.secret_access_key.as_str(),
        ),
        ("AWS_SESSION_TOKEN", credentials.session_token.as_str()),
        ("AWS_CREDENTIAL_EXPIRATION", expiration),
    ]
}

/// Quotes for POSIX shells: single quotes, with `'` written as `'\''`.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// The credentials in `format`, ending with a newline; `profile` names the `ini` section.
pub fn format(credentials: &Credentials, format: ExportFormat, profile: &str) -> Zeroizing<String> {
    let expiration = iso8601(credentials.expiration);
    let variables = variables(credentials, &expiration);
    let mut out = Zeroizing::new(String::new());
    match format {
        ExportFormat::Env | ExportFormat::EnvNoExport => {
            let prefix = if format == ExportFormat::Env {
                "export "
            } else {
                ""
            };
            for (name, value) in variables {
                out.push_str(&format!("{prefix}{name}={}\n", shell_quote(value)));
            }
        }
        ExportFormat::Fish => {
            for (name, value) in variables {
                out.push_str(&format!("set -gx {name} {}\n", shell_quote(value)));
            }
        }
        ExportFormat::Powershell => {
            for (name, value) in variables {
                out.push_str(&format!(
                    "$Env:{name}=\"{}\"\n",
                    value.replace('`', "``").replace('"', "`\"")
                ));
            }
        }
        ExportFormat::Json => {
            out.push_str(&crate::output::credential_process_json(credentials));
            out.push('\n');
        }
        ExportFormat::Ini => {
            out.push_str(&format!(
                "[{profile}]\naws_access_key_id = {}\naws_secret_access_key = {}\naws_session_token = {}\n",
                credentials.access_key_id, credentials.secret_access_key, credentials.session_token
            ));
        }
    }
    out
}

/// Gets credentials with `fetch`, then runs `command` with them and the region in its
/// environment, forwarding the signals a terminal or a service manager sends, and returns the
/// exit code to leave with (128 + the signal number when the command was killed by one, as
/// shells do).
///
/// Call it from the main thread before any other thread exists: the forwarded signals are
/// blocked first, so every thread made later (the HTTP client's included) leaves them to the
/// forwarder rather than dying of them.
pub fn exec(
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

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials() -> Credentials {
        Credentials {
            access_key_id: "ASIAEXAMPLE".into(),
            secret_access_key: "se'cr\"et`".into(),
            session_token: "tok/en+==".into(),
            expiration: time::macros::datetime!(2026-11-26 09:00:00 UTC),
        }
    }

    #[test]
    fn quotes_values_for_each_shell() {
        let env = format(&credentials(), ExportFormat::Env, "default");
        assert!(
            env.contains("export AWS_SECRET_ACCESS_KEY='se'\\''cr\"et`'\n"),
            "{}",
            *env
        );
        assert!(env.contains("export AWS_CREDENTIAL_EXPIRATION='2026-11-26T09:00:00Z'\n"));
        let plain = format(&credentials(), ExportFormat::EnvNoExport, "default");
        assert!(plain.starts_with("AWS_ACCESS_KEY_ID='ASIAEXAMPLE'\n"));
        let ps = format(&credentials(), ExportFormat::Powershell, "default");
        assert!(
            ps.contains("$Env:AWS_SECRET_ACCESS_KEY=\"se'cr`\"et``\"\n"),
            "{}",
            *ps
        );
        let ini = format(&credentials(), ExportFormat::Ini, "ci");
        assert!(ini.starts_with("[ci]\naws_access_key_id = ASIAEXAMPLE\n"));
    }
}
