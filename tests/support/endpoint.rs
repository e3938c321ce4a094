//! The local Roles Anywhere endpoint: as a child process of the real binary ([`LocalEndpoint`]),
//! or in this process ([`InProcessEndpoint`]) so a test can make it fail and recover mid-run.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::verifier::{
    self, AnswerFault, EndpointConfig, FaultPlan, Outcome, RunningEndpoint, VerificationRecord,
};
use super::{BIN, PROFILE_ARN, Pki, ROLE_ARN, TRUST_ANCHOR_ARN, next_unique};

/// What the helper needs to reach an endpoint.
pub trait Endpoint {
    fn url(&self) -> &str;
    /// The throwaway TLS CA its certificate chains to (for `AWS_CA_BUNDLE`).
    fn tls_ca(&self) -> &Path;
}

/// The local Roles Anywhere endpoint, run as a child process of the real binary.
pub struct LocalEndpoint {
    child: Child,
    pub url: String,
    pub tls_ca: PathBuf,
    pub log: PathBuf,
}

impl Endpoint for LocalEndpoint {
    fn url(&self) -> &str {
        &self.url
    }
    fn tls_ca(&self) -> &Path {
        &self.tls_ca
    }
}

impl LocalEndpoint {
    /// Starts it trusting `ca_bundle`, with extra flags (faults); waits until it is listening.
    pub fn start(pki: &Pki, ca_bundle: &Path, extra: &[&str]) -> LocalEndpoint {
        let unique = next_unique();
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

    /// The records of the requests it issued credentials for.
    pub fn issued(&self) -> Vec<serde_json::Value> {
        self.records()
            .into_iter()
            .filter(|r| r["outcome"] == "issued")
            .collect()
    }

    /// Runs `credential-process` against this endpoint with `leaf_args` and `extra`.
    pub fn credential_process(&self, leaf_args: &[&str], extra: &[&str]) -> std::process::Output {
        super::Helper::command("credential-process")
            .endpoint(self)
            .args(leaf_args)
            .args(extra)
            .output()
    }
}

impl Drop for LocalEndpoint {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The local endpoint in this process, so a test can make it fail and recover mid-run.
pub struct InProcessEndpoint {
    pub running: RunningEndpoint,
    pub url: String,
    pub tls_ca: PathBuf,
}

impl Endpoint for InProcessEndpoint {
    fn url(&self) -> &str {
        &self.url
    }
    fn tls_ca(&self) -> &Path {
        &self.tls_ca
    }
}

impl InProcessEndpoint {
    pub fn start(pki: &Pki) -> InProcessEndpoint {
        InProcessEndpoint::start_with(pki, |_| {})
    }

    /// Issues credentials that live `life` instead of the session duration asked, so an
    /// outage longer than the credentials' life takes seconds, not 15 minutes.
    pub fn start_issuing_for(pki: &Pki, life: Duration) -> InProcessEndpoint {
        InProcessEndpoint::start_with(pki, |config| {
            config.answer_fault = AnswerFault::ShortLife {
                seconds: u32::try_from(life.as_secs()).unwrap(),
            };
        })
    }

    /// Starts it with the default configuration as `configure` changes it.
    pub fn start_with(pki: &Pki, configure: impl FnOnce(&mut EndpointConfig)) -> InProcessEndpoint {
        let mut config = EndpointConfig::new(
            pki.root.cert_pem().as_bytes().to_vec(),
            TRUST_ANCHOR_ARN,
            PROFILE_ARN,
            vec![ROLE_ARN.to_string()],
        );
        configure(&mut config);
        let running = verifier::start(config).expect("start the local endpoint");
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

    /// Spoils every successful answer from now on: chosen credential values, an endless body.
    pub fn set_answer_fault(&self, fault: AnswerFault) {
        self.running.control().set_answer_fault(fault);
    }

    /// Fails every request from now on with 503, or stops failing.
    pub fn set_failing(&self, failing: bool) {
        self.running.control().set_faults(FaultPlan {
            fail_next: if failing { u32::MAX } else { 0 },
            ..FaultPlan::default()
        });
    }
}
