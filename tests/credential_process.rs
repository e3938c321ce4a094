//! credential-process end to end: the real binary against the local Roles Anywhere endpoint, for
//! every key type and file format, with chains, and every way it should fail.

use std::time::{Duration, Instant};

use crate::support::testbed::{CertSpec, KeyKind};
use crate::support::verifier::AnswerFault;
use crate::support::*;
use time::OffsetDateTime;

/// The access key id the endpoint says it issued in its last record.
fn last_issued_access_key(endpoint: &LocalEndpoint) -> String {
    let records = endpoint.records();
    let last = records.last().expect("the endpoint logged the request");
    last["access_key_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no access key in {last}"))
        .to_string()
}

fn assert_gets_credentials(
    endpoint: &LocalEndpoint,
    args: &[&str],
    what: &str,
) -> serde_json::Value {
    let output = endpoint.credential_process(args, &[]);
    assert!(
        output.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let doc = parse_credential_process(&output);
    assert_eq!(
        doc["AccessKeyId"],
        last_issued_access_key(endpoint),
        "{what}: the endpoint's credentials"
    );
    doc
}

#[test]
fn every_key_type_and_file_format_gets_credentials() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);

    // PKCS#8 PEM keys of every type.
    for (name, kind) in [
        ("ec256", KeyKind::EcP256),
        ("ec384", KeyKind::EcP384),
        ("ec521", KeyKind::EcP521),
        ("rsa2048", KeyKind::Rsa(2048)),
        ("rsa3072", KeyKind::Rsa(3072)),
        ("rsa4096", KeyKind::Rsa(4096)),
    ] {
        let leaf = pki.leaf(name, kind);
        assert_gets_credentials(&endpoint, &strs(&leaf_args(&leaf)), name);
        let record = endpoint.records().pop().unwrap();
        let expected_algorithm = if name.starts_with("ec") {
            "AWS4-X509-ECDSA-SHA256"
        } else {
            "AWS4-X509-RSA-SHA256"
        };
        assert_eq!(record["algorithm"], expected_algorithm, "{name}");
    }
    // A P-521 key made by openssl rather than our own generator.
    let p521_key = pki.path("openssl-p521.key");
    openssl(
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-521",
            "-out",
        ],
        &[&p521_key],
    );
    let p521_spki = pki.path("openssl-p521.spki.der");
    openssl(
        &["pkey", "-pubout", "-outform", "DER", "-in"],
        &[&p521_key, std::path::Path::new("-out"), &p521_spki],
    );
    let p521_cert = pki.path("openssl-p521.pem");
    std::fs::write(
        &p521_cert,
        pki.root
            .issue(&CertSpec::leaf("p521"), &std::fs::read(&p521_spki).unwrap())
            .unwrap()
            .pem,
    )
    .unwrap();
    assert_gets_credentials(
        &endpoint,
        &[
            "--certificate",
            p521_cert.to_str().unwrap(),
            "--private-key",
            p521_key.to_str().unwrap(),
        ],
        "openssl P-521 key",
    );

    // PKCS#1 (RSA) and SEC1 (EC) keys, PEM and DER; DER certificates.
    let rsa = pki.leaf("rsa-pkcs1", KeyKind::Rsa(2048));
    let pkcs1 = pki.path("rsa-pkcs1.pkcs1.pem");
    openssl(
        &["rsa", "-traditional", "-in"],
        &[&rsa.key, std::path::Path::new("-out"), &pkcs1],
    );
    assert!(
        std::fs::read_to_string(&pkcs1)
            .unwrap()
            .contains("BEGIN RSA PRIVATE KEY")
    );
    let cert = rsa.cert.to_str().unwrap();
    assert_gets_credentials(
        &endpoint,
        &[
            "--certificate",
            cert,
            "--private-key",
            pkcs1.to_str().unwrap(),
        ],
        "PKCS#1 PEM",
    );
    let pkcs1_der = pki.path("rsa-pkcs1.pkcs1.der");
    openssl(
        &["rsa", "-traditional", "-outform", "DER", "-in"],
        &[&rsa.key, std::path::Path::new("-out"), &pkcs1_der],
    );
    let cert_der = pki.path("rsa-pkcs1.der");
    openssl(
        &["x509", "-outform", "DER", "-in"],
        &[&rsa.cert, std::path::Path::new("-out"), &cert_der],
    );
    assert_gets_credentials(
        &endpoint,
        &[
            "--certificate",
            cert_der.to_str().unwrap(),
            "--private-key",
            pkcs1_der.to_str().unwrap(),
        ],
        "PKCS#1 DER key, DER certificate",
    );

    for (name, kind) in [
        ("ec256-sec1", KeyKind::EcP256),
        ("ec384-sec1", KeyKind::EcP384),
    ] {
        let ec = pki.leaf(name, kind);
        let sec1 = pki.path(&format!("{name}.sec1.pem"));
        openssl(
            &["ec", "-in"],
            &[&ec.key, std::path::Path::new("-out"), &sec1],
        );
        assert!(
            std::fs::read_to_string(&sec1)
                .unwrap()
                .contains("BEGIN EC PRIVATE KEY")
        );
        let cert = ec.cert.to_str().unwrap();
        assert_gets_credentials(
            &endpoint,
            &[
                "--certificate",
                cert,
                "--private-key",
                sec1.to_str().unwrap(),
            ],
            name,
        );
        let sec1_der = pki.path(&format!("{name}.sec1.der"));
        openssl(
            &["ec", "-outform", "DER", "-in"],
            &[&ec.key, std::path::Path::new("-out"), &sec1_der],
        );
        assert_gets_credentials(
            &endpoint,
            &[
                "--certificate",
                cert,
                "--private-key",
                sec1_der.to_str().unwrap(),
            ],
            name,
        );
    }

    // `openssl ecparam -genkey` output: an EC PARAMETERS block before the key.
    let with_params = pki.path("ecparam.key");
    openssl(
        &["ecparam", "-name", "prime256v1", "-genkey", "-out"],
        &[&with_params],
    );
    let pub_pem = pki.path("ecparam.pub.pem");
    openssl(
        &["pkey", "-pubout", "-in"],
        &[&with_params, std::path::Path::new("-out"), &pub_pem],
    );
    let pub_der = pki.path("ecparam.pub.der");
    openssl(
        &["pkey", "-pubin", "-pubout", "-outform", "DER", "-in"],
        &[&pub_pem, std::path::Path::new("-out"), &pub_der],
    );
    let issued = pki
        .root
        .issue(
            &CertSpec::leaf("ecparam"),
            &std::fs::read(&pub_der).unwrap(),
        )
        .unwrap();
    let ecparam_cert = pki.path("ecparam.pem");
    std::fs::write(&ecparam_cert, issued.pem).unwrap();
    assert_gets_credentials(
        &endpoint,
        &[
            "--certificate",
            ecparam_cert.to_str().unwrap(),
            "--private-key",
            with_params.to_str().unwrap(),
        ],
        "EC PARAMETERS + EC PRIVATE KEY",
    );

    // One PEM holding the certificate and its key, given only as --certificate.
    let combined_leaf = pki.leaf("combined", KeyKind::EcP256);
    let combined = pki.path("combined-bundle.pem");
    let mut text = std::fs::read_to_string(&combined_leaf.cert).unwrap();
    text.push_str(&std::fs::read_to_string(&combined_leaf.key).unwrap());
    std::fs::write(&combined, text).unwrap();
    assert_gets_credentials(
        &endpoint,
        &["--certificate", combined.to_str().unwrap()],
        "combined PEM",
    );
}

#[test]
fn intermediates_are_sent_in_file_order_and_chain_to_the_trust_anchor() {
    let pki = Pki::new();
    let intermediate = pki.root.intermediate("Test Intermediate CA").unwrap();
    let issuing = intermediate.intermediate("Test Issuing CA").unwrap();
    let leaf = pki.leaf_from(
        &issuing,
        "chained",
        KeyKind::EcP256,
        &CertSpec::leaf("chained"),
    );
    let bundle = pki.path("intermediates.pem");
    std::fs::write(
        &bundle,
        format!("{}{}", issuing.cert_pem(), intermediate.cert_pem()),
    )
    .unwrap();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);

    let files = leaf_args(&leaf);
    let with_chain = [
        strs(&files),
        vec!["--intermediates", bundle.to_str().unwrap()],
    ]
    .concat();
    assert_gets_credentials(&endpoint, &with_chain, "chain of two intermediates");
    let record = endpoint.records().pop().unwrap();
    assert!(
        record["signed_headers"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("x-amz-x509-chain")),
        "{record}"
    );
    let chain = record["chain_subjects"].as_array().expect("chain subjects");
    assert_eq!(chain.len(), 2, "{record}");
    assert!(
        chain[0].as_str().unwrap().contains("Test Issuing CA"),
        "file order kept: {record}"
    );
    assert!(
        chain[1].as_str().unwrap().contains("Test Intermediate CA"),
        "file order kept: {record}"
    );

    // A full-chain file as --certificate: the certificates after the leaf are the chain.
    let full_chain = pki.path("fullchain.pem");
    let leaf_pem = std::fs::read_to_string(&leaf.cert).unwrap();
    std::fs::write(
        &full_chain,
        format!(
            "{leaf_pem}{}{}",
            issuing.cert_pem(),
            intermediate.cert_pem()
        ),
    )
    .unwrap();
    assert_gets_credentials(
        &endpoint,
        &[
            "--certificate",
            full_chain.to_str().unwrap(),
            "--private-key",
            leaf.key.to_str().unwrap(),
        ],
        "full-chain certificate file",
    );
    assert_eq!(
        endpoint.records().pop().unwrap()["chain_subjects"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // An --intermediates bundle that repeats the leaf: the leaf is never sent as chain.
    let with_leaf = [
        strs(&files),
        vec!["--intermediates", full_chain.to_str().unwrap()],
    ]
    .concat();
    assert_gets_credentials(&endpoint, &with_leaf, "bundle repeating the leaf");
    assert_eq!(
        endpoint.records().pop().unwrap()["chain_subjects"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Without the intermediates the service cannot build the chain.
    let output = endpoint.credential_process(&strs(&leaf_args(&leaf)), &[]);
    assert_clean_failure(&output, 4, "Untrusted signing certificate");
}

#[test]
fn local_problems_fail_before_any_network_call() {
    let pki = Pki::new();
    // Nothing listens here: any network call would fail with exit 5, not the codes below.
    let nowhere = "https://127.0.0.1:9";
    let good = pki.leaf("good", KeyKind::EcP256);
    let other = pki.leaf("other", KeyKind::EcP256);
    let now = OffsetDateTime::now_utc();
    let expired = pki.leaf_from(
        &pki.root,
        "expired",
        KeyKind::EcP256,
        &CertSpec {
            not_before: now - time::Duration::days(10),
            not_after: now - time::Duration::days(1),
            ..CertSpec::leaf("expired")
        },
    );
    let future = pki.leaf_from(
        &pki.root,
        "future",
        KeyKind::EcP256,
        &CertSpec {
            not_before: now + time::Duration::days(1),
            not_after: now + time::Duration::days(10),
            ..CertSpec::leaf("future")
        },
    );
    let garbage = pki.path("garbage.pem");
    std::fs::write(&garbage, b"\x00\x01 this is not a certificate").unwrap();
    let empty = pki.path("empty.pem");
    std::fs::write(&empty, b"").unwrap();
    let csr = pki.path("request.csr");
    openssl(
        &["req", "-new", "-subj", "/CN=csr", "-key"],
        &[&good.key, std::path::Path::new("-out"), &csr],
    );
    let dir = pki.dir.path().to_str().unwrap().to_string();
    let missing = pki.path("missing.pem");
    let unusable_key = |name: &str, args: &[&str]| {
        let path = pki.path(name);
        openssl(args, &[std::path::Path::new("-out"), &path]);
        path.to_str().unwrap().to_string()
    };
    let secp256k1 = unusable_key(
        "k1.key",
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:secp256k1",
        ],
    );
    let ed25519 = unusable_key("ed.key", &["genpkey", "-algorithm", "ED25519"]);
    let rsa1024 = unusable_key(
        "rsa1024.key",
        &[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:1024",
        ],
    );
    let encrypted = unusable_key(
        "encrypted.key",
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-aes-256-cbc",
            "-pass",
            "pass:secret",
        ],
    );

    let cert = |l: &Leaf| l.cert.to_str().unwrap().to_string();
    let key = |l: &Leaf| l.key.to_str().unwrap().to_string();
    let cases: Vec<(Vec<String>, i32, &str)> = vec![
        (vec![cert(&expired), key(&expired)], 3, "expired"),
        (vec![cert(&future), key(&future)], 3, "not yet valid"),
        (vec![cert(&good), key(&other)], 3, "does not match"),
        (
            vec![garbage.to_str().unwrap().into(), key(&good)],
            3,
            "not a valid X.509 certificate",
        ),
        (
            vec![cert(&good), garbage.to_str().unwrap().into()],
            3,
            "not a private key",
        ),
        (vec![empty.to_str().unwrap().into(), key(&good)], 3, "empty"),
        (
            vec![cert(&good), empty.to_str().unwrap().into()],
            3,
            "empty",
        ),
        (vec![dir.clone(), key(&good)], 3, "directory"),
        (
            vec![missing.to_str().unwrap().into(), key(&good)],
            3,
            "no such file",
        ),
        (
            vec![csr.to_str().unwrap().into(), key(&good)],
            3,
            "certificate signing request",
        ),
        (
            vec![key(&good), key(&good)],
            3,
            "holds a private key, not a certificate",
        ),
        (vec![cert(&good), cert(&good)], 3, "no private key found"),
        (
            vec![cert(&good), secp256k1],
            3,
            "unsupported curve secp256k1",
        ),
        (
            vec![cert(&good), ed25519],
            3,
            "unsupported key algorithm Ed25519",
        ),
        (vec![cert(&good), rsa1024], 3, "smaller than 2048 bits"),
        (vec![cert(&good), encrypted], 3, "encrypted"),
    ];
    for (files, code, needle) in cases {
        let args = credential_process_args(
            Some(nowhere),
            &["--certificate", &files[0], "--private-key", &files[1]],
        );
        assert_clean_failure(&helper(&strs(&args), &[]), code, needle);
    }

    let bad_arguments: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--trust-anchor-arn", ROLE_ARN], "--trust-anchor-arn"),
        (
            vec![
                "--profile-arn",
                "arn:aws:rolesanywhere:eu-west-1:123456789012:profile/p",
            ],
            "same region",
        ),
        (vec!["--role-arn", "not-an-arn"], "--role-arn"),
        (vec!["--session-duration", "899"], "900 to 43200"),
        (vec!["--session-duration", "43201"], "900 to 43200"),
        (vec!["--role-session-name", "a b"], "--role-session-name"),
        (vec!["--region", "Not A Region"], "--region"),
    ];
    for (overrides, needle) in bad_arguments {
        let mut args = vec![
            "credential-process",
            "--certificate",
            good.cert.to_str().unwrap(),
            "--private-key",
            good.key.to_str().unwrap(),
            "--endpoint",
            nowhere,
        ];
        let mut given = std::collections::HashMap::new();
        for pair in overrides.chunks(2) {
            given.insert(pair[0], pair[1]);
        }
        for (flag, default) in [
            ("--trust-anchor-arn", TRUST_ANCHOR_ARN),
            ("--profile-arn", PROFILE_ARN),
            ("--role-arn", ROLE_ARN),
        ] {
            args.extend([flag, given.remove(flag).unwrap_or(default)]);
        }
        for (flag, value) in given {
            args.extend([flag, value]);
        }
        assert_clean_failure(&helper(&args, &[]), 2, needle);
    }

    let no_certificate = helper(&strs(&credential_process_args(None, &[])), &[]);
    assert_clean_failure(&no_certificate, 2, "--certificate");
}

#[test]
fn refusals_by_the_endpoint_fail_cleanly_with_the_services_reason() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let stranger_ca = crate::support::testbed::Authority::root("Some Other CA").unwrap();
    let stranger = pki.leaf_from(
        &stranger_ca,
        "stranger",
        KeyKind::EcP256,
        &CertSpec::leaf("stranger"),
    );
    assert_clean_failure(
        &endpoint.credential_process(&strs(&leaf_args(&stranger)), &[]),
        4,
        "Untrusted signing certificate",
    );

    let leaf = pki.leaf("leaf", KeyKind::EcP256);
    let unknown_role = endpoint.credential_process(
        &strs(&leaf_args(&leaf)),
        &[
            "--role-arn",
            "arn:aws:iam::123456789012:role/not-configured",
        ],
    );
    // clap keeps the last --role-arn given.
    assert_clean_failure(&unknown_role, 4, "ResourceNotFoundException");

    let not_a_ca = pki.leaf_from(
        &pki.root,
        "no-digital-signature",
        KeyKind::EcP256,
        &CertSpec {
            key_usage_digital_signature: false,
            ..CertSpec::leaf("nds")
        },
    );
    assert_clean_failure(
        &endpoint.credential_process(&strs(&leaf_args(&not_a_ca)), &[]),
        4,
        "AccessDeniedException",
    );
}

#[test]
fn throttling_and_server_errors_are_retried_then_reported() {
    let pki = Pki::new();
    let leaf = pki.leaf("leaf", KeyKind::EcP256);

    // Two failures, then success on the third attempt, each attempt signed afresh.
    let flaky = LocalEndpoint::start(
        &pki,
        &pki.root_pem,
        &["--fail-next", "2", "--fail-status", "503"],
    );
    parse_credential_process(&flaky.credential_process(&strs(&leaf_args(&leaf)), &[]));
    let records = flaky.records();
    assert_eq!(records.len(), 3, "three attempts: {records:?}");

    let throttled = LocalEndpoint::start(
        &pki,
        &pki.root_pem,
        &["--fail-next", "1", "--fail-status", "429"],
    );
    parse_credential_process(&throttled.credential_process(&strs(&leaf_args(&leaf)), &[]));
    assert_eq!(throttled.records().len(), 2);

    let dropping = LocalEndpoint::start(&pki, &pki.root_pem, &["--drop-next", "1"]);
    parse_credential_process(&dropping.credential_process(&strs(&leaf_args(&leaf)), &[]));

    // Always failing: three attempts, then exit 5 with the service's error.
    let down = LocalEndpoint::start(
        &pki,
        &pki.root_pem,
        &["--fail-next", "100", "--fail-status", "503"],
    );
    let output = down.credential_process(&strs(&leaf_args(&leaf)), &[]);
    assert_clean_failure(&output, 5, "after 3 attempts");
    assert_eq!(down.records().len(), 3);
}

#[test]
fn an_endpoint_that_is_down_fails_in_bounded_time() {
    let pki = Pki::new();
    let leaf = pki.leaf("leaf", KeyKind::EcP256);
    // A port that was free a moment ago: connections are refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("https://127.0.0.1:{port}");
    let args = credential_process_args(Some(&url), &strs(&leaf_args(&leaf)));
    let output = run_bounded(
        std::process::Command::new(BIN).args(&args),
        Duration::from_secs(30),
    );
    assert_clean_failure(&output, 5, "could not connect");
}

#[test]
fn debug_traces_never_show_secrets() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("leaf", KeyKind::Rsa(2048));
    let output = endpoint.credential_process(&strs(&leaf_args(&leaf)), &["--debug"]);
    let doc = parse_credential_process(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("string to sign"),
        "debug traces the string to sign: {stderr}"
    );
    assert!(stderr.contains("canonical request"), "{stderr}");
    // The audit line: request id, serial and role, at info level.
    let audit = stderr
        .lines()
        .find(|l| l.contains("CreateSession succeeded"))
        .expect("an audit line");
    assert!(
        audit.contains("request_id=") && audit.contains("serial=") && audit.contains(ROLE_ARN),
        "{audit}"
    );
    for secret in ["SecretAccessKey", "SessionToken"] {
        assert!(
            !stderr.contains(doc[secret].as_str().unwrap()),
            "{secret} leaked into --debug output"
        );
    }
    let key_pem = std::fs::read_to_string(&leaf.key).unwrap();
    let key_body: String = key_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    assert!(
        !stderr.contains(&key_body[..40]),
        "private key leaked into --debug output"
    );
}

#[test]
fn warns_once_of_an_expiring_certificate_and_a_session_too_short_to_use() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let now = OffsetDateTime::now_utc();
    let soon = pki.leaf_from(
        &pki.root,
        "soon",
        KeyKind::EcP256,
        &CertSpec {
            not_after: now + time::Duration::days(10),
            ..CertSpec::leaf("soon")
        },
    );
    let output =
        endpoint.credential_process(&strs(&leaf_args(&soon)), &["--session-duration", "900"]);
    parse_credential_process(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(stderr.matches("expires in").count(), 1, "{stderr}");
    assert!(stderr.contains("renew it"), "{stderr}");
    assert_eq!(
        stderr.matches("--session-duration 900").count(),
        1,
        "{stderr}"
    );

    let fine = pki.leaf("fine", KeyKind::EcP256);
    let output = endpoint.credential_process(&strs(&leaf_args(&fine)), &[]);
    parse_credential_process(&output);
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Credential values a hostile endpoint might issue, each breaking out of some output's quoting:
/// a secret ending in `\` before a crafted token (fish), command substitution and backticks
/// (PowerShell, sh), a newline (INI sections, env lines), control characters (terminals), and
/// empty values. Each is (what it is, access key id, secret access key, session token).
pub(crate) fn hostile_answers() -> Vec<(&'static str, String, String, String)> {
    let id = || "ASIAHOSTILE000001".to_string();
    let secret = || "wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY00".to_string();
    let token = || "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ==".to_string();
    vec![
        (
            "a secret ending in a backslash, then a crafted token",
            id(),
            "wJalrXUtnFEMIK7MDENG\\".into(),
            "'; touch /tmp/pwned-by-fish; echo '".into(),
        ),
        (
            "command substitution",
            id(),
            "$(touch /tmp/pwned)wJalrXUtnFEMIK7MDENG".into(),
            token(),
        ),
        (
            "backticks",
            id(),
            secret(),
            "`touch /tmp/pwned`IQoJb3JpZ2lu".into(),
        ),
        (
            "a newline that starts a section",
            id(),
            secret(),
            "IQoJb3JpZ2luX2VjEJr\n[evil]\ncredential_process = touch /tmp/pwned".into(),
        ),
        (
            "a carriage return",
            "ASIAHOSTILE\r00001".into(),
            secret(),
            token(),
        ),
        (
            "control characters",
            id(),
            "wJalrXUtnFEMI\u{1b}]0;pwned\u{7}\u{1b}[2J".into(),
            token(),
        ),
        ("empty values", String::new(), String::new(), String::new()),
        (
            "a lower-case access key id",
            "asiahostile000001".into(),
            secret(),
            token(),
        ),
    ]
}

/// A hostile endpoint's values are an unusable answer: one clear line, exit 5, nothing on
/// stdout, and the value itself never echoed.
#[test]
fn credential_values_outside_the_alphabet_aws_uses_are_an_unusable_answer() {
    let pki = Pki::new();
    let endpoint = InProcessEndpoint::start(&pki);
    let leaf = pki.leaf("hostile", KeyKind::EcP256);
    let mut table = Table::new("credential-process against a hostile endpoint");
    for (what, access_key_id, secret_access_key, session_token) in hostile_answers() {
        endpoint.set_answer_fault(AnswerFault::IssueCredentials {
            access_key_id: access_key_id.clone(),
            secret_access_key: secret_access_key.clone(),
            session_token: session_token.clone(),
        });
        let output = Helper::command("credential-process")
            .endpoint(&endpoint)
            .leaf(&leaf)
            .output();
        table.row(what, || {
            let said = stderr(&output);
            assert_eq!(output.status.code(), Some(5), "{said}");
            assert!(output.stdout.is_empty(), "printed {:?}", output.stdout);
            assert_eq!(said.lines().count(), 1, "{said:?}");
            assert!(said.contains("unusable"), "{said}");
            for value in [&access_key_id, &secret_access_key, &session_token] {
                assert!(value.is_empty() || !said.contains(value.as_str()), "{said}");
            }
        });
    }
    table.assert_all_passed();
    endpoint.set_answer_fault(AnswerFault::None);
}

/// An answer body without end (2 GB announced, or chunked forever) fails at once with one line:
/// the helper reads at most 1 MiB of it.
#[test]
fn an_endless_answer_body_fails_fast() {
    let pki = Pki::new();
    let endpoint = InProcessEndpoint::start(&pki);
    let leaf = pki.leaf("endless", KeyKind::EcP256);
    let mut table = Table::new("credential-process against an endless answer");
    for (what, declared_length) in [
        ("Content-Length: 2000000000", Some(2_000_000_000)),
        ("a chunked body without end", None),
    ] {
        endpoint.set_answer_fault(AnswerFault::EndlessBody { declared_length });
        let started = Instant::now();
        let output = Helper::command("credential-process")
            .endpoint(&endpoint)
            .leaf(&leaf)
            .limit(Duration::from_secs(40))
            .output();
        let took = started.elapsed();
        table.row(what, || {
            let said = stderr(&output);
            assert_eq!(output.status.code(), Some(5), "{said}");
            assert!(output.stdout.is_empty());
            assert_eq!(said.lines().count(), 1, "{said:?}");
            assert!(
                said.contains("unusable body") && said.contains("1024 KiB"),
                "{said}"
            );
            assert!(took < Duration::from_secs(5), "took {took:?}");
        });
    }
    table.assert_all_passed();
}

#[test]
fn region_typos_and_a_region_other_than_the_arns_are_refused_before_any_request() {
    let pki = Pki::new();
    let leaf = pki.leaf("leaf", KeyKind::EcP256);
    let endpoint = InProcessEndpoint::start(&pki);
    let typo_anchor = |region: &str| TRUST_ANCHOR_ARN.replace("us-east-1", region);
    let typo_profile = |region: &str| PROFILE_ARN.replace("us-east-1", region);
    // (what is wrong, the ARNs' region, --region, what the one line must say)
    let cases: &[(&str, &str, Option<&str>, &[&str])] = &[
        (
            "--region without its dash",
            "us-east-1",
            Some("us-east1"),
            &["--region", "'us-east1' is not a region name"],
        ),
        (
            "--region misspelt",
            "us-east-1",
            Some("us-wset-2"),
            &["--region", "'us-wset-2'"],
        ),
        (
            "--region of another region",
            "us-east-1",
            Some("us-west-2"),
            &["--region: us-west-2 differs", "us-east-1"],
        ),
        (
            "--region of another partition",
            "us-east-1",
            Some("cn-north-1"),
            &["--region", "partition"],
        ),
        (
            "ARNs' region misspelt",
            "us-east1",
            None,
            &[
                "--trust-anchor-arn",
                "'us-east1' is not a region name of partition 'aws'",
            ],
        ),
        (
            "ARNs' region misspelt, --region right",
            "us-eats-1",
            Some("us-east-1"),
            &["--trust-anchor-arn", "us-eats-1"],
        ),
    ];
    let mut table = Table::new("region checks");
    for (case, arn_region, region, needles) in cases {
        table.row(case, || {
            for command in ["credential-process", "export", "doctor"] {
                let mut helper = Helper::command(command)
                    .leaf(&leaf)
                    .args(["--endpoint", endpoint.url()])
                    .env("AWS_CA_BUNDLE", endpoint.tls_ca())
                    .args([
                        "--trust-anchor-arn",
                        &typo_anchor(arn_region),
                        "--profile-arn",
                        &typo_profile(arn_region),
                        "--role-arn",
                        ROLE_ARN,
                    ]);
                if let Some(region) = region {
                    helper = helper.args(["--region", region]);
                }
                let output = helper.output();
                if command == "doctor" {
                    // The report on stdout: the arguments check fails, and doctor exits 2.
                    assert_eq!(output.status.code(), Some(2), "doctor: {}", stderr(&output));
                    let report = String::from_utf8_lossy(&output.stdout);
                    assert!(
                        report.lines().any(|l| l.starts_with("✘ arguments: ")),
                        "the arguments check fails: {report}"
                    );
                    for needle in *needles {
                        assert!(report.contains(needle), "doctor: {needle:?} in {report}");
                    }
                } else {
                    for needle in *needles {
                        assert_clean_failure(&output, 2, needle);
                    }
                }
            }
            assert!(
                endpoint.records().is_empty(),
                "no request reached the endpoint: {:?}",
                endpoint.records()
            );
        });
    }
    table.assert_all_passed();
    // The same setup with the ARNs' own region reaches the endpoint.
    parse_credential_process(
        &Helper::command("credential-process")
            .leaf(&leaf)
            .endpoint(&endpoint)
            .args(["--region", "us-east-1"])
            .output(),
    );
    assert_eq!(endpoint.issued().len(), 1);
}

#[test]
fn a_well_formed_region_this_release_does_not_know_is_warned_of_not_refused() {
    let pki = Pki::new();
    let leaf = pki.leaf("leaf", KeyKind::EcP256);
    let endpoint = InProcessEndpoint::start(&pki);
    // The endpoint knows only the us-east-1 ARNs: it refuses these, after the helper has sent
    // them, which is what shows the region was not refused locally.
    let anchor = TRUST_ANCHOR_ARN.replace("us-east-1", "us-central-1");
    let profile = PROFILE_ARN.replace("us-east-1", "us-central-1");
    let output = Helper::command("credential-process")
        .leaf(&leaf)
        .args(["--endpoint", endpoint.url()])
        .env("AWS_CA_BUNDLE", endpoint.tls_ca())
        .args([
            "--trust-anchor-arn",
            &anchor,
            "--profile-arn",
            &profile,
            "--role-arn",
            ROLE_ARN,
        ])
        .output();
    let stderr = stderr(&output);
    assert!(
        stderr.contains("region us-central-1 is not one this release knows"),
        "{stderr}"
    );
    assert!(
        !endpoint.records().is_empty(),
        "the request was sent: {stderr}"
    );
}
