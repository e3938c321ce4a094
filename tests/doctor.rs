//! `doctor` against the local endpoint (and moto as STS, for the identity check): a good setup
//! passes every check, and each broken setup fails the check that names its problem.

use std::path::Path;

use crate::support::testbed::{Authority, CertSpec, KeyKind};
use crate::support::*;
use time::OffsetDateTime;

/// Runs doctor --json; returns the exit code and each check's status by name.
fn doctor(
    endpoint_url: &str,
    tls_ca: &Path,
    files: &[&str],
    extra: &[&str],
) -> (i32, serde_json::Value) {
    let mut args = credential_process_args(Some(endpoint_url), files);
    args[0] = "doctor".into();
    args.push("--json".into());
    args.extend(["--sts-endpoint".into(), Moto::shared().url.clone()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let output = helper(&strs(&args), &[("AWS_CA_BUNDLE", tls_ca.to_str().unwrap())]);
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
        panic!(
            "doctor printed JSON: {}",
            String::from_utf8_lossy(&output.stdout)
        )
    });
    (output.status.code().unwrap(), report)
}

fn status<'a>(report: &'a serde_json::Value, check: &str) -> &'a str {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == check)
        .unwrap_or_else(|| panic!("no check {check} in {report}"))["status"]
        .as_str()
        .unwrap()
}

/// The first failed check's name.
fn first_failure(report: &serde_json::Value) -> String {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["status"] == "fail")
        .map(|c| c["check"].as_str().unwrap().to_string())
        .unwrap_or_default()
}

#[test]
fn a_good_setup_passes_every_check_and_each_broken_one_names_its_problem() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let anchor = pki.root_pem.to_str().unwrap().to_string();
    let with_anchor = ["--trust-anchor-ca", anchor.as_str()];

    let good = pki.leaf("good", KeyKind::EcP256);
    let (code, report) = doctor(
        &endpoint.url,
        &endpoint.tls_ca,
        &strs(&leaf_args(&good)),
        &with_anchor,
    );
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["ok"], true);
    let mut passing = Table::new("a good setup passes every check");
    for check in [
        "arguments",
        "certificate",
        "private key",
        "validity",
        "certificate profile",
        "chain",
        "endpoint",
        "clock",
        "CreateSession",
        "identity",
    ] {
        passing.row(check, || {
            assert_eq!(status(&report, check), "pass", "{check}: {report}")
        });
    }
    passing.assert_all_passed();
    // The checks, in the order they run: the identity last.
    let names: Vec<&str> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["check"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "arguments",
            "certificate",
            "private key",
            "validity",
            "certificate profile",
            "chain",
            "endpoint",
            "clock",
            "CreateSession",
            "identity"
        ],
        "{report}"
    );
    // The text report says the same, one line per check.
    let mut args = credential_process_args(Some(&endpoint.url), &strs(&leaf_args(&good)));
    args[0] = "doctor".into();
    args.extend(["--sts-endpoint".into(), Moto::shared().url.clone()]);
    let text = helper(
        &strs(&args),
        &[("AWS_CA_BUNDLE", endpoint.tls_ca.to_str().unwrap())],
    );
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("✔ CreateSession: credentials for"), "{text}");
    assert!(
        text.contains(&format!("✔ identity: account {MOTO_ACCOUNT}, ARN arn:")),
        "{text}"
    );
    assert!(text.ends_with("all checks passed\n"), "{text}");

    let now = OffsetDateTime::now_utc();
    let spec = |name: &str| CertSpec::leaf(name);
    let expired = pki.leaf_from(
        &pki.root,
        "expired",
        KeyKind::EcP256,
        &CertSpec {
            not_before: now - time::Duration::days(9),
            not_after: now - time::Duration::days(1),
            ..spec("expired")
        },
    );
    let future = pki.leaf_from(
        &pki.root,
        "future",
        KeyKind::EcP256,
        &CertSpec {
            not_before: now + time::Duration::days(1),
            ..spec("future")
        },
    );
    let stranger_ca = Authority::root("Stranger CA").unwrap();
    let stranger = pki.leaf_from(&stranger_ca, "stranger", KeyKind::EcP256, &spec("stranger"));
    let other = pki.leaf("other", KeyKind::EcP256);
    let no_signature = pki.leaf_from(
        &pki.root,
        "nds",
        KeyKind::EcP256,
        &CertSpec {
            key_usage_digital_signature: false,
            ..spec("nds")
        },
    );

    // A chain of six intermediates: eight certificates, over the service's five.
    let mut issuer = pki.root.intermediate("Level 1").unwrap();
    let mut bundle = issuer.cert_pem();
    for level in 2..=6 {
        let next = issuer.intermediate(&format!("Level {level}")).unwrap();
        bundle = next.cert_pem() + &bundle;
        issuer = next;
    }
    let deep = pki.leaf_from(&issuer, "deep", KeyKind::EcP256, &spec("deep"));
    let deep_chain = pki.path("deep-chain.pem");
    std::fs::write(&deep_chain, bundle).unwrap();

    // SHA-1: the openssl command line still signs with it.
    let sha1_cert = pki.path("sha1.pem");
    let sha1_ca_key = pki.path("sha1-ca.key");
    let sha1_ca = pki.path("sha1-ca.pem");
    openssl(
        &[
            "req",
            "-x509",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-subj",
            "/CN=SHA1 CA",
            "-days",
            "2",
            "-keyout",
        ],
        &[&sha1_ca_key, Path::new("-out"), &sha1_ca],
    );
    let csr = pki.path("sha1.csr");
    openssl(
        &["req", "-new", "-subj", "/CN=sha1", "-key"],
        &[&good.key, Path::new("-out"), &csr],
    );
    openssl(
        &["x509", "-req", "-sha1", "-days", "1", "-in"],
        &[
            &csr,
            Path::new("-CA"),
            &sha1_ca,
            Path::new("-CAkey"),
            &sha1_ca_key,
            Path::new("-out"),
            &sha1_cert,
        ],
    );

    let cert = |l: &Leaf| l.cert.to_str().unwrap().to_string();
    let key = |l: &Leaf| l.key.to_str().unwrap().to_string();
    let cases: Vec<(&str, Vec<String>, Vec<String>, &str)> = vec![
        (
            "expired",
            vec![cert(&expired), key(&expired)],
            vec![],
            "validity",
        ),
        (
            "not yet valid",
            vec![cert(&future), key(&future)],
            vec![],
            "validity",
        ),
        (
            "wrong CA",
            vec![cert(&stranger), key(&stranger)],
            vec![],
            "chain",
        ),
        (
            "mismatched key",
            vec![cert(&good), key(&other)],
            vec![],
            "private key",
        ),
        (
            "no digitalSignature",
            vec![cert(&no_signature), key(&no_signature)],
            vec![],
            "certificate profile",
        ),
        (
            "SHA-1 signed",
            vec![sha1_cert.to_str().unwrap().into(), key(&good)],
            vec![],
            "certificate profile",
        ),
        (
            "chain too long",
            vec![cert(&deep), key(&deep)],
            vec![
                "--intermediates".into(),
                deep_chain.to_str().unwrap().into(),
            ],
            "chain",
        ),
        (
            "wrong region",
            vec![cert(&good), key(&good)],
            vec![
                "--profile-arn".into(),
                "arn:aws:rolesanywhere:eu-west-1:123456789012:profile/p".into(),
            ],
            "arguments",
        ),
    ];
    let mut table = Table::new("doctor names each broken setup's problem");
    for (what, files, extra, check) in cases {
        let file_args = [
            "--certificate",
            files[0].as_str(),
            "--private-key",
            files[1].as_str(),
        ];
        let extra_args: Vec<&str> = with_anchor
            .iter()
            .copied()
            .chain(extra.iter().map(String::as_str))
            .collect();
        table.row(what, || {
            let (code, report) = doctor(&endpoint.url, &endpoint.tls_ca, &file_args, &extra_args);
            assert_ne!(code, 0, "{what}: {report}");
            assert_eq!(report["ok"], false);
            assert_eq!(first_failure(&report), check, "{what}: {report}");
        });
    }

    // A clock ten minutes off, through the endpoint's Date header.
    table.row("clock ten minutes off", || {
        let skewed = LocalEndpoint::start(&pki, &pki.root_pem, &["--clock-offset", "600"]);
        let (code, report) = doctor(
            &skewed.url,
            &skewed.tls_ca,
            &strs(&leaf_args(&good)),
            &with_anchor,
        );
        assert_ne!(code, 0);
        assert_eq!(first_failure(&report), "clock", "{report}");
    });

    // An endpoint that is down.
    table.row("endpoint down", || {
        let port = free_port();
        let (code, report) = doctor(
            &format!("https://127.0.0.1:{port}"),
            &endpoint.tls_ca,
            &strs(&leaf_args(&good)),
            &with_anchor,
        );
        assert_eq!(code, 5, "{report}");
        assert_eq!(first_failure(&report), "endpoint", "{report}");
        assert_eq!(status(&report, "CreateSession"), "skipped");
        assert_eq!(status(&report, "identity"), "skipped");
    });
    table.assert_all_passed();
}

/// Checks that `doctor` (text report) exited 0 with every check passing, the private key,
/// CreateSession and the identity among them.
fn assert_doctor_passes(output: &std::process::Output) {
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "doctor failed: {text}{}",
        stderr(output)
    );
    let checks: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && *l != "all checks passed")
        .collect();
    assert!(!checks.is_empty(), "no checks: {text}");
    for line in &checks {
        assert!(
            line.starts_with("✔ "),
            "a check did not pass: {line:?} in {text}"
        );
    }
    assert!(
        checks.iter().any(|l| l.starts_with("✔ private key")),
        "{text}"
    );
    assert!(
        checks.iter().any(|l| l.starts_with("✔ CreateSession")),
        "{text}"
    );
    assert!(
        checks.iter().any(|l| l.starts_with("✔ identity: account ")),
        "{text}"
    );
    assert!(text.ends_with("all checks passed\n"), "{text}");
}

/// `doctor` loads keys through the same identity dispatch as credential-process: PKCS#12 bundles
/// (with and without password, modern and legacy) and PEM or base64 DER from `env:NAME` and `-`.
#[test]
fn doctor_passes_with_pkcs12_and_env_and_stdin_inputs() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("doctor-inputs", KeyKind::EcP256);
    let rsa = pki.leaf("doctor-rsa", KeyKind::Rsa(2048));
    let cert_pem = std::fs::read_to_string(&leaf.cert).unwrap();
    let key_pem = std::fs::read_to_string(&leaf.key).unwrap();
    use base64::Engine as _;
    let b64 = |pem_text: &str| {
        base64::engine::general_purpose::STANDARD
            .encode(pem::parse(pem_text).unwrap().into_contents())
    };
    let export = |leaf: &Leaf, name: &str, password: &str, legacy: bool| {
        crate::key_formats::export_pkcs12(&pki, leaf, None, name, password, legacy)
    };
    let modern = export(&leaf, "doctor-modern.p12", "p12 pass", false);
    let legacy = export(&leaf, "doctor-legacy.pfx", "p12 pass", true);
    let empty = export(&rsa, "doctor-empty.p12", "", false);
    let doctor = || {
        Helper::command("doctor")
            .endpoint(&endpoint)
            .sts_endpoint(Moto::shared())
    };
    let rows: Vec<(&str, Helper)> = vec![
        ("PEM files", doctor().leaf(&leaf)),
        (
            "PKCS#12 with a password",
            doctor()
                .arg("--certificate")
                .arg(&modern)
                .args(["--pkcs12-password", "p12 pass"]),
        ),
        (
            "legacy PKCS#12",
            doctor()
                .arg("--certificate")
                .arg(&legacy)
                .args(["--pkcs12-password", "p12 pass"]),
        ),
        (
            "PKCS#12 without a password",
            doctor().arg("--certificate").arg(&empty),
        ),
        (
            "PEM in env:NAME",
            doctor()
                .key_pair("env:RA_CERT", "env:RA_KEY")
                .env("RA_CERT", &cert_pem)
                .env("RA_KEY", &key_pem),
        ),
        (
            "base64 DER in env:NAME",
            doctor()
                .key_pair("env:RA_CERT", "env:RA_KEY")
                .env("RA_CERT", b64(&cert_pem))
                .env("RA_KEY", b64(&key_pem)),
        ),
        (
            "certificate and key on stdin",
            doctor()
                .args(["--certificate", "-"])
                .stdin(format!("{cert_pem}{key_pem}")),
        ),
        (
            "certificate on stdin, key in env:NAME",
            doctor()
                .key_pair("-", "env:RA_KEY")
                .env("RA_KEY", &key_pem)
                .stdin(cert_pem.clone()),
        ),
    ];
    let mut table = Table::new("doctor with every file and inline input");
    for (name, run) in rows {
        table.row(name, || assert_doctor_passes(&run.output()));
    }
    table.assert_all_passed();
}

/// `doctor` with PKCS#11 keys: certificate and key URIs, a certificate URI only (the key by
/// CKA_ID), and a certificate file with a key URI.
#[test]
fn doctor_passes_with_pkcs11_certificates_and_keys() {
    let token = Token::new();
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &token.ca(), &[]);
    let doctor = || {
        token
            .command_with_module("doctor")
            .endpoint(&endpoint)
            .sts_endpoint(Moto::shared())
            .env("PKCS11_PIN", PIN)
    };
    let cert_file = token.path("ec384.crt.pem");
    let mut table = Table::new("doctor with PKCS#11");
    for (name, run) in [
        (
            "EC certificate and key URIs",
            doctor().key_pair(token.uri("ec256"), token.uri("ec256")),
        ),
        (
            "RSA certificate and key URIs",
            doctor().key_pair(token.uri("rsa2048"), token.uri("rsa2048")),
        ),
        (
            "certificate URI only",
            doctor().args(["--certificate", &token.uri("ec384")]),
        ),
        (
            "certificate file, key URI",
            doctor().key_pair(&cert_file, token.uri("ec384")),
        ),
        (
            "imported key",
            doctor().args(["--certificate", &token.uri("ec384-imported")]),
        ),
    ] {
        table.row(name, || assert_doctor_passes(&run.output()));
    }
    table.assert_all_passed();
}

/// `doctor` with TPM keys: key files (with and without a password) and a persistent handle.
#[test]
fn doctor_passes_with_tpm_key_files_and_handles() {
    let tpm = Swtpm::start(false);
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &tpm.path("pki/ca.pem"), &[]);
    let doctor = || {
        tpm.command("doctor")
            .endpoint(&endpoint)
            .sts_endpoint(Moto::shared())
    };
    let mut table = Table::new("doctor with TPM keys");
    for (name, run) in [
        (
            "EC key file",
            doctor().key_pair(tpm.cert("ec256"), tpm.key("ec256")),
        ),
        (
            "RSA key file",
            doctor().key_pair(tpm.cert("rsa2048"), tpm.key("rsa2048")),
        ),
        (
            "key file with a password",
            doctor()
                .key_pair(tpm.cert("ec256-pw"), tpm.key("ec256-pw"))
                .args(["--tpm-key-password", "1234"]),
        ),
        (
            "persistent handle",
            doctor()
                .key_pair(tpm.cert("persistent"), "handle:0x81000101")
                .arg("--no-tpm-key-password"),
        ),
    ] {
        table.row(name, || assert_doctor_passes(&run.output()));
    }
    table.assert_all_passed();
    assert_eq!(
        tpm.transient_handles(),
        "",
        "every doctor run flushed its key"
    );
}

/// doctor never prints a PKCS#11 URI's pin-value, in its text report or in --json: with every
/// check passing, and with failing checks that quote the input (an object the token lacks, a key
/// that does not match the certificate).
#[test]
fn doctor_never_prints_a_pin_value() {
    let token = Token::new();
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &token.ca(), &[]);
    let with_pin = |object: &str| format!("{}?pin-value={PIN}", token.uri(object));
    let cert_file = token.path("ec384.crt.pem");
    let rows: Vec<(&str, Vec<String>, bool)> = vec![
        (
            "every check passing",
            vec![
                "--certificate".into(),
                with_pin("ec256"),
                "--private-key".into(),
                with_pin("ec256"),
            ],
            true,
        ),
        (
            "an object the token lacks",
            vec!["--certificate".into(), with_pin("no-such-object")],
            false,
        ),
        (
            "a key that does not match the certificate",
            vec![
                "--certificate".into(),
                cert_file.to_str().unwrap().into(),
                "--private-key".into(),
                with_pin("rsa2048"),
            ],
            false,
        ),
    ];
    let mut table = Table::new("doctor and pin-value");
    for (name, args, passes) in rows {
        for json in [false, true] {
            let mut run = token
                .command_with_module("doctor")
                .endpoint(&endpoint)
                .sts_endpoint(Moto::shared())
                .args(&args);
            if json {
                run = run.arg("--json");
            }
            let output = run.output();
            table.row(
                &format!("{name}{}", if json { ", --json" } else { "" }),
                || {
                    let printed = format!(
                        "{}{}",
                        String::from_utf8_lossy(&output.stdout),
                        String::from_utf8_lossy(&output.stderr)
                    );
                    assert_eq!(output.status.success(), passes, "{printed}");
                    assert!(!printed.contains(&format!("pin-value={PIN}")), "{printed}");
                    if !passes {
                        assert!(
                            printed.contains("pkcs11:"),
                            "the input is quoted: {printed}"
                        );
                    }
                },
            );
        }
    }
    table.assert_all_passed();
}
