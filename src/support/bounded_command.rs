//! A user's shell command run bounded: `sh -c CMD` in a process group of its own, given bytes on
//! standard input, its standard output and error read up to a limit, and the whole group killed
//! (by its process group id) when it outlives its time.

use std::io::{Read as _, Write as _};
use std::os::unix::process::{CommandExt as _, ExitStatusExt as _};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process_group};

/// The most of a command's standard output that is read.
pub const MAX_STDOUT: usize = 1 << 20;
/// The most of a command's standard error that is kept (its end: where the reason usually is).
pub const MAX_STDERR: usize = 4096;

/// What a finished command left.
#[derive(Debug)]
pub struct Finished {
    /// Its exit code, or 128 + the signal that killed it.
    pub code: i32,
    /// Its standard output (at most [`MAX_STDOUT`] bytes; see `stdout_truncated`).
    pub stdout: Vec<u8>,
    /// More than [`MAX_STDOUT`] bytes were printed.
    pub stdout_truncated: bool,
    /// The end of its standard error, at most [`MAX_STDERR`] bytes, as text.
    pub stderr: String,
}

/// Why a command gave nothing usable.
#[derive(Debug)]
pub enum Failure {
    /// `sh` could not be started.
    Start(std::io::Error),
    /// It ran longer than its time and was killed, with what it had said on stderr so far.
    TimedOut {
        /// The time it had.
        limit: Duration,
        /// The end of its standard error.
        stderr: String,
    },
}

/// Runs `sh -c script` with `input` on its standard input and `env_remove` left out of its
/// environment (secrets of ours), `env` added; kills its process group after `limit`.
pub fn run(
    script: &str,
    input: &[u8],
    env: &[(&str, &std::ffi::OsStr)],
    env_remove: &[String],
    limit: Duration,
) -> Result<Finished, Failure> {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group: a timeout kills what it started too.
        .process_group(0);
    for name in env_remove {
        command.env_remove(name);
    }
    for (name, value) in env {
        command.env(name, value);
    }
    let started = Instant::now();
    let mut child = command.spawn().map_err(Failure::Start)?;
    let group = Pid::from_child(&child);
    let kill_group = || {
        let _ = kill_process_group(group, Signal::KILL);
    };
    let stdin = child.stdin.take();
    let input = input.to_vec();
    // A command that never reads its input must not block us: written from a thread, and a
    // closed pipe (EPIPE) is the command's business.
    std::thread::spawn(move || {
        if let Some(mut stdin) = stdin {
            let _ = stdin.write_all(&input);
        }
    });
    let (out_sender, out_receiver) = mpsc::channel();
    if let Some(stdout) = child.stdout.take() {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let read = stdout
                .take(MAX_STDOUT as u64 + 1)
                .read_to_end(&mut bytes)
                .map(|_| bytes);
            let _ = out_sender.send(read.unwrap_or_default());
        });
    }
    let (err_sender, err_receiver) = mpsc::channel();
    if let Some(mut stderr) = child.stderr.take() {
        std::thread::spawn(move || {
            // Keeps the last MAX_STDERR bytes, reading to the end so the command never blocks.
            let mut kept: Vec<u8> = Vec::new();
            let mut buffer = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                kept.extend_from_slice(&buffer[..n]);
                if kept.len() > MAX_STDERR {
                    kept.drain(..kept.len() - MAX_STDERR);
                }
            }
            let _ = err_sender.send(kept);
        });
    }
    let stderr_so_far = |wait: Duration| {
        let bytes = err_receiver.recv_timeout(wait).unwrap_or_default();
        String::from_utf8_lossy(&bytes).trim().to_string()
    };
    let timed_out = || Failure::TimedOut {
        limit,
        stderr: stderr_so_far(Duration::from_millis(200)),
    };
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < limit => std::thread::sleep(Duration::from_millis(10)),
            // Out of time, or the child cannot be waited for: either way it goes, with its group.
            _ => {
                kill_group();
                let _ = child.wait();
                return Err(timed_out());
            }
        }
    };
    // The shell is gone; what it left running in its group may still hold the pipes open. It
    // gets the rest of the time, then the group is killed.
    let left = limit.saturating_sub(started.elapsed());
    let stdout = match out_receiver.recv_timeout(left) {
        Ok(stdout) => stdout,
        Err(_) => {
            kill_group();
            return Err(timed_out());
        }
    };
    let left = limit
        .saturating_sub(started.elapsed())
        .max(Duration::from_millis(100));
    let stderr = stderr_so_far(left);
    let code = match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        (None, None) => 1,
    };
    let stdout_truncated = stdout.len() > MAX_STDOUT;
    let mut stdout = stdout;
    stdout.truncate(MAX_STDOUT);
    Ok(Finished {
        code,
        stdout,
        stdout_truncated,
        stderr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_input_and_exit_code_come_back() {
        let finished = run(
            "tr a-z A-Z; echo oops >&2; exit 3",
            b"hello",
            &[],
            &[],
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(finished.stdout, b"HELLO");
        assert_eq!(finished.stderr, "oops");
        assert_eq!(finished.code, 3);
        assert!(!finished.stdout_truncated);
    }

    #[test]
    fn a_command_that_outlives_its_time_is_killed_with_its_group() {
        let dir = tempfile::tempdir().unwrap();
        let pid_file = dir.path().join("pid");
        let script = format!(
            "echo started >&2; sleep 30 & echo $! > '{}'; wait",
            pid_file.display()
        );
        let started = Instant::now();
        let failure = run(&script, b"", &[], &[], Duration::from_millis(500)).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5));
        match failure {
            Failure::TimedOut { stderr, .. } => assert_eq!(stderr, "started"),
            other => panic!("{other:?}"),
        }
        let pid: i32 = std::fs::read_to_string(&pid_file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // The background sleep was killed too (gone, or a zombie waiting for its reaper).
        wait_gone(pid);
    }

    fn wait_gone(pid: i32) {
        let started = Instant::now();
        loop {
            let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok();
            let alive = state.is_some_and(|s| {
                s.rsplit_once(") ")
                    .is_some_and(|(_, rest)| !rest.starts_with('Z'))
            });
            if !alive {
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "process {pid} still alive"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn removed_variables_are_left_out_of_its_environment_and_given_ones_added() {
        let finished = run(
            "printf %s \"${HOME-unset}/$RAH_GIVEN\"",
            b"",
            &[("RAH_GIVEN", std::ffi::OsStr::new("given"))],
            &["HOME".to_string()],
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(finished.stdout, b"unset/given");
    }
}
