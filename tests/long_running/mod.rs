//! Harness for the long-running commands (`serve`, `update`): the real binary as a child process
//! killed by PID on drop, an in-process local endpoint whose faults a test can change while it
//! runs, readiness through a fake systemd notify socket, and raw HTTP.
#![allow(dead_code)]

use std::io::{Read as _, Write as _};
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use rolesanywhere_testbed::{
    EndpointConfig, FaultPlan, Outcome, RunningEndpoint, VerificationRecord,
};

use crate::common::*;

/// Test-only: refresh after 0.3% of a 900 s lifetime, i.e. every 2.7 s.
pub const FAST_REFRESH: (&str, &str) = ("RAH_TEST_REFRESH_FRACTION", "0.003");

/// The local endpoint in this process, so a test can make it fail and recover mid-run.
pub struct InProcessEndpoint {
    pub running: RunningEndpoint,
    pub url: String,
    pub tls_ca: PathBuf,
}

impl InProcessEndpoint {
    pub fn start(pki: &Pki) -> InProcessEndpoint {
        let config = EndpointConfig::new(
            pki.root.cert_pem().as_bytes().to_vec(),
            TRUST_ANCHOR_ARN,
            PROFILE_ARN,
            vec![ROLE_ARN.to_string()],
        );
        let running = rolesanywhere_testbed::start(config).expect("start the local endpoint");
        let tls_ca = pki.path(&format!("in-process-tls-ca-{}.pem", next_unique()));
        std::fs::write(&tls_ca, running.tls_ca_pem().expect("throwaway TLS CA")).unwrap();
        let url = running.url();
        InProcessEndpoint {
            running,
            url,
            tls_ca,
        }
    }

    pub fn records(&self) -> Vec<VerificationRecord> {
        self.running.control().records()
    }

    pub fn issued(&self) -> Vec<VerificationRecord> {
        self.records()
            .into_iter()
            .filter(|r| r.outcome == Outcome::Issued)
            .collect()
    }

    pub fn failed(&self) -> usize {
        self.records()
            .iter()
            .filter(|r| r.outcome == Outcome::FaultInjected)
            .count()
    }

    /// Fails every request from now on with 503, or stops failing.
    pub fn set_failing(&self, failing: bool) {
        self.running.control().set_faults(FaultPlan {
            fail_next: if failing { u32::MAX } else { 0 },
            ..FaultPlan::default()
        });
    }
}

static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

pub fn next_unique() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    )
}

/// Polls `condition` until it holds, failing the test after `limit` (common's wait_for).
pub fn wait_until(what: &str, limit: Duration, condition: impl FnMut() -> bool) {
    crate::common::wait_for(what, limit, condition);
}

/// A free TCP port on 127.0.0.1 (closed again: the child binds it right after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The helper binary running a long-running command, with a fake systemd notify socket.
pub struct Helper {
    pub child: Child,
    stderr_path: PathBuf,
    notify: UnixDatagram,
}

impl Helper {
    /// Starts `args` with the test ARNs, `--endpoint url` and `AWS_CA_BUNDLE=tls_ca`.
    pub fn start(
        pki: &Pki,
        command: &str,
        url: &str,
        tls_ca: &Path,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> Helper {
        let unique = next_unique();
        let notify_path = pki.path(&format!("notify-{unique}.sock"));
        let notify = UnixDatagram::bind(&notify_path).unwrap();
        notify
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let stderr_path = pki.path(&format!("{command}-{unique}.stderr"));
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let mut cmd = Command::new(BIN);
        cmd.arg(command)
            .args([
                "--trust-anchor-arn",
                TRUST_ANCHOR_ARN,
                "--profile-arn",
                PROFILE_ARN,
                "--role-arn",
                ROLE_ARN,
                "--endpoint",
                url,
            ])
            .args(args)
            .env("AWS_CA_BUNDLE", tls_ca)
            .env("NOTIFY_SOCKET", &notify_path)
            .env_remove("AWS_ENDPOINT_URL_ROLESANYWHERE")
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .env_remove("RAH_TEST_REFRESH_FRACTION")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start the helper");
        Helper {
            child,
            stderr_path,
            notify,
        }
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    fn check_running(&mut self) {
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

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP answer.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request on a fresh connection, with a 10 s bound.
pub fn http(address: (&str, u16), method: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}:{}\r\nConnection: close\r\nContent-Length: 0\r\n",
        address.0, address.1
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

/// Replaces `leaf`'s certificate and key files with a new pair (renewal), each atomically.
pub fn renew_leaf(pki: &Pki, leaf: &Leaf, name: &str) {
    let renewed = pki.leaf(name, leaf.key_kind);
    std::fs::rename(&renewed.key, &leaf.key).unwrap();
    std::fs::rename(&renewed.cert, &leaf.cert).unwrap();
}

/// Runs a botocore snippet with a clean AWS environment plus `env`; returns its JSON output.
pub fn botocore(pki: &Pki, script: &str, env: &[(&str, &str)]) -> serde_json::Value {
    let python = python_with_botocore();
    let mut command = Command::new(python);
    command
        .args(["-c", script])
        .env("AWS_CONFIG_FILE", pki.path("no-such-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            pki.path("no-such-credentials"),
        )
        .env("AWS_DEFAULT_REGION", "us-east-1");
    for name in [
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_EC2_METADATA_DISABLED",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
    ] {
        command.env_remove(name);
    }
    for (k, v) in env {
        command.env(k, v);
    }
    let output = run_bounded(&mut command, Duration::from_secs(60));
    assert!(
        output.status.success(),
        "botocore: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("botocore printed JSON")
}

/// Resolves credentials with botocore's default chain; prints the method and the access key.
pub const BOTOCORE_RESOLVE: &str = r#"
import datetime, json, sys, botocore.session
session = botocore.session.Session()
credentials = session.get_credentials()
if credentials is None:
    print(json.dumps({"method": None}))
    sys.exit(0)
frozen = credentials.get_frozen_credentials()
expiry = getattr(credentials, "_expiry_time", None)
print(json.dumps({
    "method": credentials.method,
    "access_key": frozen.access_key,
    "secret_key": frozen.secret_key,
    "token": frozen.token,
    "seconds_left": (expiry - datetime.datetime.now(datetime.timezone.utc)).total_seconds() if expiry else None,
}))
"#;
