//! The real binary as a child process: [`Helper`] builds its command line and environment, runs
//! it bounded in time ([`Helper::output`]) or keeps it running ([`Helper::spawn`], killed by PID
//! on drop), with readiness through a private fake systemd notify socket.

use std::ffi::{OsStr, OsString};
use std::io::{Read, Write};
use std::os::unix::net::UnixDatagram;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use super::{BIN, Endpoint, Leaf, PROFILE_ARN, PasswordFlag, ROLE_ARN, TRUST_ANCHOR_ARN};

/// Variables of the test's own environment that would change what the helper does; every run
/// starts without them and a test sets the ones it means.
const CLEARED: &[&str] = &[
    "AWS_ENDPOINT_URL_ROLESANYWHERE",
    "AWS_ENDPOINT_URL_STS",
    "AWS_ENDPOINT_URL",
    "AWS_CA_BUNDLE",
    "HTTPS_PROXY",
    "https_proxy",
    "PKCS11_PIN",
    "SOFTHSM2_CONF",
    "TPM_DEVICE",
    "NOTIFY_SOCKET",
    "RAH_TEST_REFRESH_FRACTION",
];

/// How long a bounded run may take.
const DEFAULT_LIMIT: Duration = Duration::from_secs(60);

/// A run of the helper binary, built up step by step:
/// `Helper::command("serve").leaf(&leaf).endpoint(&endpoint).spawn()`.
#[must_use]
pub struct Helper {
    program: OsString,
    args: Vec<OsString>,
    env: Vec<(OsString, Option<OsString>)>,
    stdin: Option<Vec<u8>>,
    limit: Duration,
    dir: Option<PathBuf>,
}

impl Helper {
    /// The helper's `command` (a subcommand such as `serve`; arguments follow).
    pub fn command(command: &str) -> Helper {
        Helper::bare().arg(command)
    }

    /// The helper with no subcommand yet (for `--version` and argument errors).
    pub fn bare() -> Helper {
        Helper {
            program: BIN.into(),
            args: Vec::new(),
            env: CLEARED.iter().map(|k| (k.into(), None)).collect(),
            stdin: None,
            limit: DEFAULT_LIMIT,
            dir: None,
        }
    }

    /// Runs `program` (e.g. `setsid`) with the helper's command line after `wrapper_args`.
    pub fn wrapped_in(mut self, program: &str, wrapper_args: &[&str]) -> Helper {
        let mut args: Vec<OsString> = wrapper_args.iter().map(OsString::from).collect();
        args.push(std::mem::replace(&mut self.program, program.into()));
        args.append(&mut self.args);
        self.args = args;
        self
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Helper {
        self.args.push(arg.as_ref().to_os_string());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Helper
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    /// The test trust anchor, profile and role ARNs.
    pub fn arns(self) -> Helper {
        self.args([
            "--trust-anchor-arn",
            TRUST_ANCHOR_ARN,
            "--profile-arn",
            PROFILE_ARN,
            "--role-arn",
            ROLE_ARN,
        ])
    }

    /// The test ARNs, `--endpoint` and `AWS_CA_BUNDLE` for `endpoint`.
    pub fn endpoint(self, endpoint: &impl Endpoint) -> Helper {
        self.arns()
            .args(["--endpoint", endpoint.url()])
            .env("AWS_CA_BUNDLE", endpoint.tls_ca())
    }

    /// `--certificate C --private-key K` for a leaf.
    pub fn leaf(self, leaf: &Leaf) -> Helper {
        self.key_pair(&leaf.cert, &leaf.key)
    }

    /// `--certificate C --private-key K`.
    pub fn key_pair(self, certificate: impl AsRef<OsStr>, key: impl AsRef<OsStr>) -> Helper {
        self.arg("--certificate")
            .arg(certificate)
            .arg("--private-key")
            .arg(key)
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Helper {
        let key = key.as_ref().to_os_string();
        self.env.retain(|(k, _)| *k != key);
        self.env.push((key, Some(value.as_ref().to_os_string())));
        self
    }

    pub fn envs(mut self, env: &[(&str, &str)]) -> Helper {
        for (k, v) in env {
            self = self.env(k, v);
        }
        self
    }

    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Helper {
        let key = key.as_ref().to_os_string();
        self.env.retain(|(k, _)| *k != key);
        self.env.push((key, None));
        self
    }

    /// What the helper reads on stdin (otherwise nothing: stdin is /dev/null).
    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Helper {
        self.stdin = Some(input.into());
        self
    }

    /// Runs it in `dir` (else in the test's working directory).
    pub fn current_dir(mut self, dir: impl Into<PathBuf>) -> Helper {
        self.dir = Some(dir.into());
        self
    }

    /// How long [`Helper::output`] may take (60 s unless told).
    pub fn limit(mut self, limit: Duration) -> Helper {
        self.limit = limit;
        self
    }

    fn build(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.args);
        if let Some(dir) = &self.dir {
            command.current_dir(dir);
        }
        for (k, v) in &self.env {
            match v {
                Some(v) => command.env(k, v),
                None => command.env_remove(k),
            };
        }
        command
    }

    /// Runs it to the end, failing the test if it takes longer than its limit.
    pub fn output(self) -> Output {
        let mut command = self.build();
        run_bounded_with_input(&mut command, self.limit, self.stdin)
    }

    /// Starts it and leaves it running (killed by PID when the [`Running`] is dropped), its
    /// stderr in a file and a fake systemd notify socket in a private temp dir.
    pub fn spawn(self) -> Running {
        let dir = tempfile::Builder::new()
            .prefix("rah-running")
            .tempdir()
            .unwrap();
        let notify_path = dir.path().join("notify.sock");
        let notify = UnixDatagram::bind(&notify_path).unwrap();
        notify
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let stderr_path = dir.path().join("stderr");
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let mut command = self.env("NOTIFY_SOCKET", &notify_path).build();
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
        Running {
            child,
            stderr_path,
            notify,
            _dir: dir,
        }
    }
}

/// A running helper, killed (by PID) and reaped when dropped.
pub struct Running {
    pub child: Child,
    stderr_path: PathBuf,
    notify: UnixDatagram,
    _dir: tempfile::TempDir,
}

impl Running {
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Fails the test if the helper has exited.
    pub fn check_running(&mut self) {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!("the helper exited early ({status}): {}", self.stderr());
        }
    }

    /// Waits for `READY=1` on the notify socket (sent once the first credentials are in hand).
    pub fn wait_ready(&mut self) {
        let started = Instant::now();
        let mut buf = [0u8; 512];
        loop {
            if let Ok(n) = self.notify.recv(&mut buf)
                && String::from_utf8_lossy(&buf[..n])
                    .lines()
                    .any(|l| l == "READY=1")
            {
                return;
            }
            self.check_running();
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "not ready within 30 s: {}",
                self.stderr()
            );
        }
    }

    /// The notify datagrams (`READY=1`, `STATUS=…`) received so far and within `wait` more,
    /// one string each, in order; stops early once one satisfies `until`.
    pub fn notifications(&mut self, wait: Duration, until: impl Fn(&str) -> bool) -> Vec<String> {
        let started = Instant::now();
        let mut received = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            if let Ok(n) = self.notify.recv(&mut buf) {
                let datagram = String::from_utf8_lossy(&buf[..n]).into_owned();
                let done = until(&datagram);
                received.push(datagram);
                if done {
                    return received;
                }
            } else if started.elapsed() >= wait {
                return received;
            }
        }
    }

    /// Waits until something accepts connections on 127.0.0.1:`port`.
    pub fn wait_listening(&mut self, port: u16) {
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            self.check_running();
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "not listening within 30 s: {}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGTERM and waits (at most 10 s) for the exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(killed.success());
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "still running 10 s after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The identity and signing options by name, so that a call site reads as the command line it
/// specifies: `.certificate(&uri).pkcs11_lib(&module).reuse_pin()`.
impl Helper {
    /// `--certificate C` (a file, a `pkcs11:` URI, `-` or `env:NAME`).
    pub fn certificate(self, certificate: impl AsRef<OsStr>) -> Helper {
        self.arg("--certificate").arg(certificate)
    }

    /// `--private-key K` (a file, a `pkcs11:` URI, a TPM key file or `handle:0x81…`).
    pub fn private_key(self, key: impl AsRef<OsStr>) -> Helper {
        self.arg("--private-key").arg(key)
    }

    /// `--intermediates FILE`.
    pub fn intermediates(self, intermediates: impl AsRef<OsStr>) -> Helper {
        self.arg("--intermediates").arg(intermediates)
    }

    /// `--pkcs11-lib MODULE`.
    pub fn pkcs11_lib(self, module: impl AsRef<OsStr>) -> Helper {
        self.arg("--pkcs11-lib").arg(module)
    }

    /// `--reuse-pin` (log in to CKA_ALWAYS_AUTHENTICATE keys with the token's PIN).
    pub fn reuse_pin(self) -> Helper {
        self.arg("--reuse-pin")
    }

    /// `--tpm-key-password PASSWORD`.
    pub fn tpm_key_password(self, password: &str) -> Helper {
        self.args(["--tpm-key-password", password])
    }

    /// `--no-tpm-key-password` (the key has no password: never ask).
    pub fn no_tpm_key_password(self) -> Helper {
        self.arg("--no-tpm-key-password")
    }

    /// The TPM key password flag a table row chose.
    pub fn password_flag(self, flag: PasswordFlag) -> Helper {
        match flag {
            PasswordFlag::Unspecified => self,
            PasswordFlag::Given(password) => self.tpm_key_password(password),
            PasswordFlag::NoPassword => self.no_tpm_key_password(),
        }
    }

    /// `TPM_DEVICE` (a device path, UNIX socket, `tcp:host:port` or tpm2-tss TCTI string).
    pub fn tpm_device(self, device: impl AsRef<OsStr>) -> Helper {
        self.env("TPM_DEVICE", device)
    }

    /// sign-string's `--digest SHA256|SHA384|SHA512`.
    pub fn digest(self, digest: &str) -> Helper {
        self.args(["--digest", digest])
    }

    /// sign-string's `--format text|json|bin`.
    pub fn format(self, format: &str) -> Helper {
        self.args(["--format", format])
    }

    /// `--debug`.
    pub fn debug(self) -> Helper {
        self.arg("--debug")
    }
}

/// Runs a command, failing the test if it takes longer than `limit`.
pub fn run_bounded(command: &mut Command, limit: Duration) -> Output {
    run_bounded_with_input(command, limit, None)
}

/// As [`run_bounded`], writing `input` to its stdin (else stdin is /dev/null).
pub fn run_bounded_with_input(
    command: &mut Command,
    limit: Duration,
    input: Option<Vec<u8>>,
) -> Output {
    let mut child = command
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
    let writer = input.map(|input| {
        let mut stdin = child.stdin.take().unwrap();
        // A child that exits without reading everything closes the pipe: not our failure.
        std::thread::spawn(move || drop(stdin.write_all(&input)))
    });
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        stdout.read_to_end(&mut buf).map(|_| buf)
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        stderr.read_to_end(&mut buf).map(|_| buf)
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{command:?} ran longer than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    if let Some(writer) = writer {
        writer.join().unwrap();
    }
    Output {
        status,
        stdout: out_reader.join().unwrap().unwrap(),
        stderr: err_reader.join().unwrap().unwrap(),
    }
}

/// Runs the helper binary with `args` (the first is the command) and `env`, bounded to 60 s.
pub fn helper(args: &[&str], env: &[(&str, &str)]) -> Output {
    Helper::bare().args(args).envs(env).output()
}

/// Asserts the failure contract: a non-zero exit `code`, nothing on stdout, one line on stderr
/// that contains `needle`.
pub fn assert_clean_failure(output: &Output, code: i32, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(code),
        "exit code; stderr: {stderr}"
    );
    assert!(
        output.stdout.is_empty(),
        "stdout must be empty, was {:?}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(
        stderr.trim_end().lines().count(),
        1,
        "one line on stderr, got: {stderr}"
    );
    assert!(
        stderr.contains(needle),
        "stderr should mention {needle:?}: {stderr}"
    );
}

/// `credential-process` with the test ARNs, `--endpoint` when given, then `extra`.
pub fn credential_process_args(endpoint: Option<&str>, extra: &[&str]) -> Vec<String> {
    let mut args = vec![
        "credential-process",
        "--trust-anchor-arn",
        TRUST_ANCHOR_ARN,
        "--profile-arn",
        PROFILE_ARN,
        "--role-arn",
        ROLE_ARN,
    ];
    if let Some(url) = endpoint {
        args.extend(["--endpoint", url]);
    }
    args.extend_from_slice(extra);
    args.into_iter().map(String::from).collect()
}

/// Parses a credential_process document and checks its shape.
pub fn parse_credential_process(output: &Output) -> serde_json::Value {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "credential-process failed: {stderr}"
    );
    assert!(
        !output.stdout.ends_with(b"\n"),
        "no trailing newline, as AWS's helper prints it"
    );
    let doc: serde_json::Value = serde_json::from_slice(&output.stdout).expect("stdout is JSON");
    assert_eq!(doc["Version"], 1);
    for key in [
        "AccessKeyId",
        "SecretAccessKey",
        "SessionToken",
        "Expiration",
    ] {
        assert!(
            doc[key].as_str().is_some_and(|v| !v.is_empty()),
            "{key} missing in {doc}"
        );
    }
    let expiration = doc["Expiration"].as_str().unwrap();
    assert_eq!(expiration.len(), 20, "YYYY-MM-DDTHH:MM:SSZ: {expiration}");
    assert!(expiration.ends_with('Z'));
    doc
}

/// Polls `condition` every 50 ms until it holds, failing the test after `limit`.
pub fn wait_for(what: &str, limit: Duration, mut condition: impl FnMut() -> bool) {
    let started = Instant::now();
    while !condition() {
        assert!(
            started.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A free TCP port on 127.0.0.1 (closed again: the child binds it right after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Runs `openssl` with string args followed by path args; panics on failure.
pub fn openssl(args: &[&str], paths: &[&std::path::Path]) -> Output {
    let mut command = Command::new("openssl");
    command.args(args).args(paths);
    let output = run_bounded(&mut command, Duration::from_secs(30));
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}
