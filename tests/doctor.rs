//! `doctor` against the local endpoint: a good setup passes every check, and each broken setup
//! fails the check that names its problem.

mod common;

use std::path::Path;

use common::*;
use rolesanywhere_testbed::pki::{Authority, CertSpec, KeyKind};
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
    ] {
        assert_eq!(status(&report, check), "pass", "{check}: {report}");
    }
    // The text report says the same, one line per check.
    let mut args = credential_process_args(Some(&endpoint.url), &strs(&leaf_args(&good)));
    args[0] = "doctor".into();
    let text = helper(
        &strs(&args),
        &[("AWS_CA_BUNDLE", endpoint.tls_ca.to_str().unwrap())],
    );
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("✔ CreateSession: credentials for"), "{text}");
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
        let (code, report) = doctor(&endpoint.url, &endpoint.tls_ca, &file_args, &extra_args);
        assert_ne!(code, 0, "{what}: {report}");
        assert_eq!(report["ok"], false);
        assert_eq!(first_failure(&report), check, "{what}: {report}");
    }

    // A clock ten minutes off, through the endpoint's Date header.
    let skewed = LocalEndpoint::start(&pki, &pki.root_pem, &["--clock-offset", "600"]);
    let (code, report) = doctor(
        &skewed.url,
        &skewed.tls_ca,
        &strs(&leaf_args(&good)),
        &with_anchor,
    );
    assert_ne!(code, 0);
    assert_eq!(first_failure(&report), "clock", "{report}");

    // An endpoint that is down.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (code, report) = doctor(
        &format!("https://127.0.0.1:{port}"),
        &endpoint.tls_ca,
        &strs(&leaf_args(&good)),
        &with_anchor,
    );
    assert_eq!(code, 5, "{report}");
    assert_eq!(first_failure(&report), "endpoint", "{report}");
    assert_eq!(status(&report, "CreateSession"), "skipped");
}
