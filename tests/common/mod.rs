//! Shared test harness: a throwaway PKI in a private temp dir, the real binary run with a time
//! bound, and the local Roles Anywhere endpoint as a child process cleaned up by PID.
#![allow(dead_code)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use rolesanywhere_testbed::pki::{Authority, CertSpec, GeneratedKey, KeyKind};

pub const BIN: &str = env!("CARGO_BIN_EXE_rolesanywhere-helper");
pub const TRUST_ANCHOR_ARN: &str =
    "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/test-ta";
pub const PROFILE_ARN: &str = "arn:aws:rolesanywhere:us-east-1:123456789012:profile/test-profile";
pub const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/test-role";

/// Runs a command, failing the test if it takes longer than `limit`.
pub fn run_bounded(command: &mut Command, limit: Duration) -> Output {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {command:?}: {e}"));
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
    Output {
        status,
        stdout: out_reader.join().unwrap().unwrap(),
        stderr: err_reader.join().unwrap().unwrap(),
    }
}

/// Runs the helper binary with `args` (and `env`), bounded to 60 s.
pub fn helper(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(BIN);
    command
        .args(args)
        .env_remove("AWS_ENDPOINT_URL_ROLESANYWHERE")
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy");
    for (k, v) in env {
        command.env(k, v);
    }
    run_bounded(&mut command, Duration::from_secs(60))
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

/// A private temp dir with a root CA (its PEM on disk).
pub struct Pki {
    pub dir: tempfile::TempDir,
    pub root: Authority,
    pub root_pem: PathBuf,
}

/// A leaf's files.
pub struct Leaf {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub key_kind: KeyKind,
}

impl Pki {
    pub fn new() -> Pki {
        let dir = tempfile::Builder::new()
            .prefix("rah-test")
            .tempdir()
            .unwrap();
        let root = Authority::root("Test Root CA").unwrap();
        let root_pem = dir.path().join("root.pem");
        std::fs::write(&root_pem, root.cert_pem()).unwrap();
        Pki {
            dir,
            root,
            root_pem,
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A leaf of `kind` issued by `issuer` as `spec` says, written as PKCS#8 PEM key + PEM cert.
    pub fn leaf_from(
        &self,
        issuer: &Authority,
        name: &str,
        kind: KeyKind,
        spec: &CertSpec,
    ) -> Leaf {
        let key = GeneratedKey::generate(kind).unwrap();
        let key_path = self.path(&format!("{name}.key"));
        std::fs::write(&key_path, key.pkcs8_pem().as_bytes()).unwrap();
        let cert_path = self.path(&format!("{name}.pem"));
        let cert = issuer.issue(spec, &key.spki_der).unwrap();
        std::fs::write(&cert_path, cert.pem).unwrap();
        Leaf {
            cert: cert_path,
            key: key_path,
            key_kind: kind,
        }
    }

    pub fn leaf(&self, name: &str, kind: KeyKind) -> Leaf {
        self.leaf_from(&self.root, name, kind, &CertSpec::leaf(name))
    }
}

/// Runs `openssl` with string args followed by path args; panics on failure.
pub fn openssl(args: &[&str], paths: &[&Path]) -> Output {
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

/// The local Roles Anywhere endpoint, run as a child process of the real binary.
pub struct LocalEndpoint {
    child: Child,
    pub url: String,
    pub tls_ca: PathBuf,
    pub log: PathBuf,
}

impl LocalEndpoint {
    /// Starts it trusting `ca_bundle`, with extra flags (faults); waits until it is listening.
    pub fn start(pki: &Pki, ca_bundle: &Path, extra: &[&str]) -> LocalEndpoint {
        let unique = format!(
            "{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        let ready = pki.path(&format!("endpoint-{unique}.ready"));
        let tls_ca = pki.path(&format!("endpoint-{unique}-tls-ca.pem"));
        let log = pki.path(&format!("endpoint-{unique}.jsonl"));
        let stderr_path = pki.path(&format!("endpoint-{unique}.stderr"));
        let stderr = std::fs::File::create(&stderr_path).expect("endpoint stderr file");
        let child = Command::new(BIN)
            .arg("local-endpoint")
            .arg("--ca-bundle")
            .arg(ca_bundle)
            .args([
                "--trust-anchor-arn",
                TRUST_ANCHOR_ARN,
                "--profile-arn",
                PROFILE_ARN,
                "--role-arn",
                ROLE_ARN,
            ])
            .arg("--ready-file")
            .arg(&ready)
            .arg("--write-tls-ca")
            .arg(&tls_ca)
            .arg("--request-log")
            .arg(&log)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("start local-endpoint");
        let mut endpoint = LocalEndpoint {
            child,
            url: String::new(),
            tls_ca,
            log,
        };
        let started = Instant::now();
        loop {
            if let Ok(url) = std::fs::read_to_string(&ready)
                && !url.trim().is_empty()
            {
                endpoint.url = url.trim().to_string();
                return endpoint;
            }
            if let Some(status) = endpoint.child.try_wait().unwrap() {
                let said = std::fs::read_to_string(&stderr_path).unwrap_or_default();
                panic!("local-endpoint exited early ({status}): {said}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "local-endpoint not ready within 20 s"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The verification records so far, one JSON value per request.
    pub fn records(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("JSON line"))
            .collect()
    }

    /// Runs `credential-process` against this endpoint with `leaf` and extra args.
    pub fn credential_process(&self, leaf_args: &[&str], extra: &[&str]) -> Output {
        let args = credential_process_args(Some(&self.url), &[leaf_args, extra].concat());
        helper(
            &strs(&args),
            &[("AWS_CA_BUNDLE", self.tls_ca.to_str().unwrap())],
        )
    }
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

static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Drop for LocalEndpoint {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `--certificate C --private-key K` for a leaf.
pub fn leaf_args(leaf: &Leaf) -> Vec<String> {
    vec![
        "--certificate".into(),
        leaf.cert.to_str().unwrap().into(),
        "--private-key".into(),
        leaf.key.to_str().unwrap().into(),
    ]
}

pub fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
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

/// The Python with botocore installed by the test command; a missing one fails the test.
pub fn python_with_botocore() -> PathBuf {
    let python = std::env::var_os("RAH_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-venv/bin/python")
        });
    assert!(
        python.exists(),
        "no Python with botocore at {}: run ./scripts/test.sh, which installs it",
        python.display()
    );
    python
}

/// A child process of the helper killed (by PID) and reaped when dropped, its stderr in a file.
pub struct RunningHelper {
    pub child: Child,
    pub stderr_path: PathBuf,
}

impl RunningHelper {
    pub fn start(args: &[&str], env: &[(&str, &str)], stderr_path: PathBuf) -> RunningHelper {
        let stderr = std::fs::File::create(&stderr_path).unwrap();
        let mut command = Command::new(BIN);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        for (k, v) in env {
            command.env(k, v);
        }
        let child = command.spawn().expect("start the helper");
        RunningHelper { child, stderr_path }
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }
}

impl Drop for RunningHelper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
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
