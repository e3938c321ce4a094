//! moto in server mode (installed by the test command into the botocore virtualenv): a real STS
//! implementation on 127.0.0.1, on a port the server picks itself (no race for a free port).
//!
//! The server runs in a Python process that exits when its stdin closes, so it goes away with
//! the test process however that ends; an instance of one test is also killed by PID on drop.

use std::io::{BufRead as _, Read as _, Seek as _};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use super::{Helper, python_with_botocore};

/// Starts the server, prints its port, then serves until stdin closes.
const SERVER: &str = r#"
import os, sys
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
os._exit(0)
"#;

/// moto's default account, which it reports for access keys it did not issue.
pub const MOTO_ACCOUNT: &str = "123456789012";

/// A running moto server.
pub struct Moto {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    pub port: u16,
    /// moto's stderr (its request log), for failure messages.
    log: std::fs::File,
}

impl Moto {
    /// A moto server of its own, with `env` (e.g. `INITIAL_NO_AUTH_ACTION_COUNT=0`, which makes
    /// moto check every request's access key, so that keys it did not issue are refused).
    pub fn start(env: &[(&str, &str)]) -> Moto {
        let log = tempfile::tempfile().unwrap();
        let mut command = Command::new(python_with_botocore());
        command
            .args(["-c", SERVER])
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log.try_clone().unwrap());
        for name in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
        ] {
            command.env_remove(name);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting moto: {e}"));
        let stdout = child.stdout.take().unwrap();
        let (sender, port) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = std::io::BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(line);
        });
        let mut moto = Moto {
            child,
            url: String::new(),
            port: 0,
            log,
        };
        match port
            .recv_timeout(Duration::from_secs(60))
            .ok()
            .and_then(|line| line.trim().parse::<u16>().ok())
        {
            Some(port) => {
                moto.port = port;
                moto.url = format!("http://127.0.0.1:{port}");
            }
            None => panic!(
                "moto did not start (is moto[server] in the test venv? ./scripts/test.sh installs it): {}",
                moto.log()
            ),
        }
        // It answers: the port was bound before it was printed, and it serves HTTP.
        let answer = super::http(("127.0.0.1", moto.port), "GET", "/moto-api/", &[]);
        assert!(answer.status < 500, "moto answered {}", answer.status);
        moto
    }

    /// One moto server for the whole test run, started on first use (doctor's identity check
    /// needs an STS in every doctor test). It exits when the test process does.
    pub fn shared() -> &'static Moto {
        static SHARED: OnceLock<Moto> = OnceLock::new();
        SHARED.get_or_init(|| Moto::start(&[]))
    }

    /// What moto wrote to stderr so far.
    pub fn log(&self) -> String {
        let mut file = &self.log;
        let mut text = String::new();
        let _ = file.rewind();
        let _ = file.read_to_string(&mut text);
        text
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Helper {
    /// `--sts-endpoint` for `moto` (doctor's identity check).
    pub fn sts_endpoint(self, moto: &Moto) -> Helper {
        self.args(["--sts-endpoint", moto.url.as_str()])
    }
}

/// One request moto recorded (its recorder, `MOTO_ENABLE_RECORDING`): what it really received.
pub struct RecordedRequest {
    pub headers: serde_json::Map<String, serde_json::Value>,
    /// The form parameters of the body, in order.
    pub params: Vec<(String, String)>,
}

impl RecordedRequest {
    /// The first value of form parameter `name`.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// A header, whatever its case.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.as_str())
    }
}

impl Moto {
    /// A moto server of its own that records every request into `recording` (moto's recorder).
    pub fn recording(recording: &std::path::Path, env: &[(&str, &str)]) -> Moto {
        let path = recording.to_str().unwrap();
        let mut all = vec![
            ("MOTO_ENABLE_RECORDING", "true"),
            ("MOTO_RECORDER_FILEPATH", path),
        ];
        all.extend_from_slice(env);
        Moto::start(&all)
    }

    /// The requests for STS `action` in `recording`, as moto received them.
    pub fn recorded(recording: &std::path::Path, action: &str) -> Vec<RecordedRequest> {
        use base64::Engine as _;
        let text = std::fs::read_to_string(recording).unwrap_or_default();
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|line| {
                let entry: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
                let body = entry["body"].as_str().unwrap_or("");
                let body = if entry["body_encoded"] == true {
                    base64::engine::general_purpose::STANDARD
                        .decode(body)
                        .expect("base64 body")
                } else {
                    body.as_bytes().to_vec()
                };
                RecordedRequest {
                    headers: entry["headers"].as_object().cloned().unwrap_or_default(),
                    params: url::form_urlencoded::parse(&body).into_owned().collect(),
                }
            })
            .filter(|r| r.param("Action") == Some(action))
            .collect()
    }
}

/// The AWS CLI (v1, from PyPI) of the test venv, run by the venv's Python (a venv copied from
/// another checkout keeps the original's path in its scripts' `#!` lines), with `env` and a
/// clean AWS environment and a private HOME (the CLI caches assumed-role credentials in
/// ~/.aws/cli/cache, which would outlive the moto that issued them).
pub fn aws_cli(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let python = python_with_botocore();
    let script = python.parent().unwrap().join("aws");
    assert!(
        script.exists(),
        "no AWS CLI at {} (./scripts/test.sh installs awscli)",
        script.display()
    );
    let mut command = Command::new(&python);
    command.arg(script).args(args);
    for name in [
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_STS",
    ] {
        command.env_remove(name);
    }
    let home = tempfile::tempdir().unwrap();
    command.env("HOME", home.path());
    command.env("AWS_EC2_METADATA_DISABLED", "true");
    command.envs(env.iter().copied());
    super::run_bounded(&mut command, Duration::from_secs(120))
}
