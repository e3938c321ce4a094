//! Certificate renewal with the user's own CA (here `openssl x509 -req` as `--renew-command`):
//! `renew` once (due: the file replaced, the previous kept, its mode kept, the new certificate
//! used; not due: the command never runs; every failure leaves the file byte for byte), `serve`
//! and `update` renewing in the background, a certificate replaced on a PKCS#11 token picked up
//! without a restart, and the warning of a certificate expiring with nothing to renew it.

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::support::testbed::{CertSpec, KeyKind};
use crate::support::*;
use time::OffsetDateTime;

/// A test PKI whose leaves come from the test bed's root, and an openssl CA (its key on disk)
/// that renews them; the endpoint trusts both.
struct Lab {
    pki: Pki,
    ca: PathBuf,
    ca_key: PathBuf,
    ext: PathBuf,
    bundle: PathBuf,
}

impl Lab {
    fn new() -> Lab {
        let pki = Pki::new();
        let OpensslCa {
            cert: ca,
            key: ca_key,
            extensions: ext,
        } = OpensslCa::create(pki.dir.path(), "/CN=Renewing CA", 30);
        let bundle = pki.path("bundle.pem");
        let mut both = std::fs::read(&pki.root_pem).unwrap();
        both.extend(std::fs::read(&ca).unwrap());
        std::fs::write(&bundle, both).unwrap();
        Lab {
            pki,
            ca,
            ca_key,
            ext,
            bundle,
        }
    }

    /// A leaf (EC P-256) from the test bed's root, valid until `left` from now.
    fn leaf(&self, name: &str, left: time::Duration) -> Leaf {
        let spec = CertSpec {
            not_after: OffsetDateTime::now_utc() + left,
            ..CertSpec::leaf(name)
        };
        self.pki
            .leaf_from(&self.pki.root, name, KeyKind::EcP256, &spec)
    }

    /// The renew command: the request on stdin signed by the openssl CA for `days`.
    fn sign_command(&self, days: u32) -> String {
        format!(
            "openssl x509 -req -CA '{}' -CAkey '{}' -days {days} -extfile '{}' -extensions leaf 2>/dev/null",
            self.ca.display(),
            self.ca_key.display(),
            self.ext.display()
        )
    }

    fn endpoint(&self) -> LocalEndpoint {
        LocalEndpoint::start(&self.pki, &self.bundle, &[])
    }
}

fn serial_of(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    rolesanywhere_helper::identity::certificate::parse_bundle(&bytes, "test")
        .unwrap()
        .remove(0)
        .serial_decimal
}

fn renew(leaf: &Leaf, command: &str, extra: &[&str]) -> Helper {
    Helper::command("renew")
        .leaf(leaf)
        .args(["--renew-command", command])
        .args(extra)
}

fn previous(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}.previous", path.display()))
}

#[test]
fn renew_replaces_a_due_certificate_keeps_the_previous_and_its_mode_and_the_new_one_is_used() {
    let lab = Lab::new();
    let endpoint = lab.endpoint();
    let leaf = lab.leaf("due", time::Duration::hours(2));
    std::fs::set_permissions(&leaf.cert, std::fs::Permissions::from_mode(0o640)).unwrap();
    let old = std::fs::read(&leaf.cert).unwrap();
    let old_serial = serial_of(&leaf.cert);

    let output = renew(&leaf, &lab.sign_command(30), &["--renew-before", "3h"]).output();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(said.starts_with("renewed: "), "{said}");

    assert_eq!(std::fs::read(previous(&leaf.cert)).unwrap(), old);
    for file in [leaf.cert.clone(), previous(&leaf.cert)] {
        let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640, "{}", file.display());
    }
    let new_serial = serial_of(&leaf.cert);
    assert_ne!(new_serial, old_serial);
    assert!(said.contains(&new_serial), "{said}");
    // The same subject, issued by the CA the command used (checked by openssl).
    let text = openssl(
        &["x509", "-noout", "-subject", "-issuer", "-in"],
        &[&leaf.cert],
    );
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("CN = due") && text.contains("CN = Renewing CA"),
        "{text}"
    );

    let used = endpoint.credential_process(&strs(&leaf_args(&leaf)), &[]);
    parse_credential_process(&used);
    let records = endpoint.records();
    assert_eq!(
        records.last().unwrap()["serial"],
        new_serial.as_str(),
        "{records:?}"
    );
    assert_eq!(records.last().unwrap()["outcome"], "issued");
}

#[test]
fn renew_does_not_run_the_command_when_nothing_is_due() {
    let lab = Lab::new();
    // 90 days: by default due a third of its lifetime (30 days) before it expires.
    let leaf = lab.leaf("fresh", time::Duration::days(90));
    let before = std::fs::read(&leaf.cert).unwrap();
    let marker = lab.pki.path("command-ran");
    let command = format!("touch '{}'; {}", marker.display(), lab.sign_command(30));
    for extra in [&[][..], &["--renew-before", "29d"][..]] {
        let output = renew(&leaf, &command, extra).output();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let said = String::from_utf8_lossy(&output.stdout);
        assert!(said.starts_with("not due: "), "{said}");
    }
    assert!(!marker.exists(), "the command ran");
    assert_eq!(std::fs::read(&leaf.cert).unwrap(), before);
    assert!(!previous(&leaf.cert).exists());
}

/// A row: its name, the renew command, the leaf's time left, extra flags, the exit code and
/// what stderr says.
type FailureCase<'a> = (&'a str, String, time::Duration, Vec<&'a str>, i32, &'a str);

#[test]
fn every_failed_renewal_leaves_the_certificate_byte_for_byte_and_says_why() {
    let lab = Lab::new();
    let other_key = lab.pki.path("other.key");
    openssl(
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
        ],
        &[&other_key],
    );
    let another_key = format!(
        "cat >/dev/null; openssl req -new -key '{}' -subj /CN=other | {}",
        other_key.display(),
        lab.sign_command(30)
    );
    let sign_30_days = lab.sign_command(30);
    let sign_1_day = lab.sign_command(1);
    let cases: Vec<FailureCase> = vec![
        (
            "the command fails",
            "cat >/dev/null; echo 'CA refused: quota exceeded' >&2; exit 7".into(),
            time::Duration::hours(2),
            vec!["--renew-before", "3h"],
            5,
            "failed with exit code 7; its stderr: CA refused: quota exceeded",
        ),
        (
            "it prints nothing",
            "cat >/dev/null".into(),
            time::Duration::hours(2),
            vec!["--renew-before", "3h"],
            3,
            "printed no certificate",
        ),
        (
            "it prints something that is not PEM",
            "cat >/dev/null; echo issued".into(),
            time::Duration::hours(2),
            vec!["--renew-before", "3h"],
            3,
            "is not PEM",
        ),
        (
            "a certificate for another key",
            another_key,
            time::Duration::hours(2),
            vec!["--renew-before", "3h"],
            3,
            "is a certificate for another key",
        ),
        (
            "a certificate that does not last longer",
            sign_1_day,
            time::Duration::days(90),
            vec!["--renew-before", "100d"],
            3,
            "does not last longer than the current one",
        ),
        (
            "it outlives --renew-timeout",
            format!("cat >/dev/null; echo asking the CA >&2; sleep 30; {sign_30_days}"),
            time::Duration::hours(2),
            vec!["--renew-before", "3h", "--renew-timeout", "1s"],
            5,
            "ran longer than 1s and was killed with what it started (raise --renew-timeout if the CA is slow); its stderr: asking the CA",
        ),
    ];
    let mut table = Table::new("failed renewals");
    for (index, (row, command, left, extra, code, says)) in cases.into_iter().enumerate() {
        let leaf = lab.leaf(&format!("failing-{index}"), left);
        table.row(row, || {
            let before = std::fs::read(&leaf.cert).unwrap();
            let started = Instant::now();
            let output = renew(&leaf, &command, &extra).output();
            assert!(started.elapsed() < Duration::from_secs(20), "bounded");
            assert_clean_failure(&output, code, says);
            assert_eq!(std::fs::read(&leaf.cert).unwrap(), before, "byte for byte");
            assert!(!previous(&leaf.cert).exists(), "no .previous");
        });
    }
    table.assert_all_passed();
}

/// Starts `command` (serve or update) against `endpoint` with `extra`, refreshing every few
/// seconds.
fn daemon(
    command: &str,
    lab: &Lab,
    endpoint: &LocalEndpoint,
    leaf: &Leaf,
    extra: &[&str],
) -> Running {
    let mut helper = Helper::command(command)
        .endpoint(endpoint)
        .leaf(leaf)
        .args(["--session-duration", "900"])
        .args(extra)
        .envs(&[FAST_REFRESH]);
    helper = match command {
        "serve" => helper.args(["--port", &free_port().to_string()]),
        _ => helper.args(["--profile", "renewal"]).env(
            "AWS_SHARED_CREDENTIALS_FILE",
            lab.pki.path(&format!("credentials-{}", next_unique())),
        ),
    };
    helper.spawn()
}

fn issued_serials(endpoint: &LocalEndpoint) -> Vec<String> {
    endpoint
        .issued()
        .iter()
        .filter_map(|r| r["serial"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn serve_and_update_renew_a_due_certificate_in_the_background_and_the_next_refresh_uses_it() {
    let lab = Lab::new();
    let mut table = Table::new("background renewal");
    for command in ["serve", "update"] {
        table.row(command, || {
            let endpoint = lab.endpoint();
            let leaf = lab.leaf(&format!("{command}-due"), time::Duration::hours(2));
            let old_serial = serial_of(&leaf.cert);
            let mut running = daemon(
                command,
                &lab,
                &endpoint,
                &leaf,
                &[
                    "--renew-before",
                    "3h",
                    "--renew-command",
                    &lab.sign_command(30),
                ],
            );
            running.wait_ready();
            wait_for(
                "a CreateSession with the renewed certificate",
                Duration::from_secs(60),
                || {
                    running.check_running();
                    issued_serials(&endpoint).iter().any(|s| *s != old_serial)
                },
            );
            let new_serial = serial_of(&leaf.cert);
            assert_ne!(new_serial, old_serial);
            assert_eq!(issued_serials(&endpoint).last(), Some(&new_serial));
            assert_eq!(serial_of(&previous(&leaf.cert)), old_serial);
            let said = running.stderr();
            assert!(said.contains("the certificate was renewed"), "{said}");
            assert!(!said.contains("no renewal is configured"), "{said}");
            assert_eq!(running.terminate().code(), Some(0));
        });
    }
    table.assert_all_passed();
}

#[test]
fn a_failed_background_renewal_is_logged_with_the_commands_stderr_and_the_old_certificate_keeps_working()
 {
    let lab = Lab::new();
    let endpoint = lab.endpoint();
    let leaf = lab.leaf("ca-down", time::Duration::hours(2));
    let before = std::fs::read(&leaf.cert).unwrap();
    let old_serial = serial_of(&leaf.cert);
    let mut serve = daemon(
        "serve",
        &lab,
        &endpoint,
        &leaf,
        &[
            "--renew-before",
            "3h",
            "--renew-command",
            "cat >/dev/null; echo 'the CA is down' >&2; exit 1",
        ],
    );
    serve.wait_ready();
    wait_for(
        "two failed renewals logged",
        Duration::from_secs(30),
        || {
            serve.check_running();
            serve
                .stderr()
                .matches("renewing the certificate failed")
                .count()
                >= 2
        },
    );
    let said = serve.stderr();
    assert!(said.contains("its stderr: the CA is down"), "{said}");
    wait_for(
        "refreshes with the old certificate",
        Duration::from_secs(30),
        || issued_serials(&endpoint).len() >= 2,
    );
    assert!(issued_serials(&endpoint).iter().all(|s| *s == old_serial));
    assert_eq!(std::fs::read(&leaf.cert).unwrap(), before);
    assert_eq!(serve.terminate().code(), Some(0));
}

#[test]
fn serve_picks_up_a_certificate_replaced_on_the_token_without_a_restart() {
    let token = Token::new();
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &token.ca(), &[]);
    let uri = token.uri("ec256");
    let mut serve = token
        .command_with_module("serve")
        .endpoint(&endpoint)
        .args([
            "--port",
            &free_port().to_string(),
            "--session-duration",
            "900",
        ])
        .key_pair(&uri, &uri)
        .env("PKCS11_PIN", PIN)
        .envs(&[FAST_REFRESH])
        .spawn();
    serve.wait_ready();
    let first = issued_serials(&endpoint);
    assert_eq!(first.len(), 1);

    // The token's CA issues a new certificate for the same key; it replaces the token's object.
    let renewed = token.path("ec256-renewed.der");
    openssl(
        &[
            "x509",
            "-new",
            "-subj",
            "/CN=softhsm-ec256-renewed",
            "-days",
            "30",
            "-extensions",
            "v3_leaf",
            "-outform",
            "DER",
            "-force_pubkey",
        ],
        &[
            &token.path("ec256-01.pub.pem"),
            Path::new("-CA"),
            &token.ca(),
            Path::new("-CAkey"),
            &token.path("ca.key"),
            Path::new("-extfile"),
            &token.path("ext.cnf"),
            Path::new("-out"),
            &renewed,
        ],
    );
    let new_serial = serial_of(&renewed);
    for args in [
        vec!["--delete-object", "--type", "cert", "--label", "ec256"],
        vec![
            "--write-object",
            renewed.to_str().unwrap(),
            "--type",
            "cert",
            "--id",
            "01",
            "--label",
            "ec256",
        ],
    ] {
        let mut command = std::process::Command::new("pkcs11-tool");
        command
            .args([
                "--module",
                &token.module,
                "--token-label",
                &token.label,
                "--login",
                "--pin",
                PIN,
            ])
            .args(&args);
        token.apply(&mut command);
        let output = run_bounded(&mut command, Duration::from_secs(30));
        assert!(
            output.status.success(),
            "pkcs11-tool {args:?}: {}",
            stderr(&output)
        );
    }
    wait_for(
        "a CreateSession with the token's new certificate",
        Duration::from_secs(60),
        || {
            serve.check_running();
            issued_serials(&endpoint).last() == Some(&new_serial)
        },
    );
    assert_eq!(serve.terminate().code(), Some(0));
}

#[test]
fn without_renewal_serve_update_and_doctor_warn_of_a_certificate_expiring_within_30_days() {
    let lab = Lab::new();
    let endpoint = lab.endpoint();
    let expiring = lab.leaf("expiring", time::Duration::days(10));
    let warning = "expires in 9 days";
    let mut table = Table::new("the 30-day warning");
    for command in ["serve", "update"] {
        table.row(command, || {
            let mut running = daemon(command, &lab, &endpoint, &expiring, &[]);
            running.wait_ready();
            let said = running.stderr();
            assert!(
                said.contains(warning) && said.contains("no renewal is configured"),
                "{said}"
            );
            assert_eq!(running.terminate().code(), Some(0));
            // Configured renewal (not due yet): no warning.
            let mut running = daemon(
                command,
                &lab,
                &endpoint,
                &expiring,
                &[
                    "--renew-before",
                    "1d",
                    "--renew-command",
                    &lab.sign_command(30),
                ],
            );
            running.wait_ready();
            let said = running.stderr();
            assert!(!said.contains("no renewal is configured"), "{said}");
            assert_eq!(running.terminate().code(), Some(0));
        });
    }
    table.row("doctor", || {
        let run = |extra: &[&str]| {
            let output = Helper::command("doctor")
                .endpoint(&endpoint)
                .leaf(&expiring)
                .args(["--no-create-session", "--json"])
                .args(extra)
                .output();
            let report: serde_json::Value = serde_json::from_slice(&output.stdout)
                .unwrap_or_else(|_| panic!("JSON: {}", stderr(&output)));
            (output.status.code(), report)
        };
        let row = |report: &serde_json::Value| {
            report["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["check"] == "renewal")
                .cloned()
        };
        let (code, report) = run(&[]);
        assert_eq!(code, Some(0), "a warning is no failure: {report}");
        let warned = row(&report).unwrap_or_else(|| panic!("no renewal row: {report}"));
        assert_eq!(warned["status"], "warn", "{report}");
        assert!(
            warned["detail"].as_str().unwrap().contains(warning),
            "{report}"
        );
        let (code, report) = run(&["--renew-before", "11d", "--renew-command", "true"]);
        assert_eq!(code, Some(0), "{report}");
        let configured = row(&report).unwrap_or_else(|| panic!("no renewal row: {report}"));
        assert_eq!(configured["status"], "pass", "{report}");
        assert!(
            configured["detail"]
                .as_str()
                .unwrap()
                .starts_with("due now"),
            "{report}"
        );
    });
    table.assert_all_passed();
}
