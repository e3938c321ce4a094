//! `serve` end to end: the real binary between the local endpoint and real clients (botocore
//! through IMDS and through the container endpoint, raw HTTP for the protocol's edge cases), its
//! one refresher (one CreateSession however many requests, last good credentials kept through
//! failures, never "Success" without valid credentials), readiness and clean shutdown, no secret
//! in the `--debug` log, and IMDS refused beyond loopback.

mod common;
mod long_running;

use std::os::unix::fs::PermissionsExt as _;
use std::time::Duration;

use common::*;
use long_running::*;
use rolesanywhere_testbed::pki::KeyKind;

const CREDENTIALS_PATH: &str = "/latest/meta-data/iam/security-credentials/";
const ROLE_NAME: &str = "test-role";
const LOCAL: &str = "127.0.0.1";

/// `serve` on a free port with a container token file; returns it with the port and token file.
fn start_serve(
    pki: &Pki,
    url: &str,
    tls_ca: &std::path::Path,
    leaf: &Leaf,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (Helper, u16, std::path::PathBuf) {
    let port = free_port();
    let token_file = pki.path(&format!("container-token-{}", next_unique()));
    let mut args = vec![
        "--port".to_string(),
        port.to_string(),
        "--container-token-file".to_string(),
        token_file.to_str().unwrap().to_string(),
    ];
    args.extend(leaf_args(leaf));
    args.extend(extra.iter().map(|s| s.to_string()));
    let helper = Helper::start(pki, "serve", url, tls_ca, &strs(&args), env);
    (helper, port, token_file)
}

fn imds_token(port: u16) -> String {
    let answer = http(
        (LOCAL, port),
        "PUT",
        "/latest/api/token",
        &[("X-aws-ec2-metadata-token-ttl-seconds", "21600")],
    );
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.text()
}

/// The credentials IMDS serves now (status, document).
fn imds_credentials(port: u16) -> (u16, serde_json::Value) {
    let token = imds_token(port);
    let answer = http(
        (LOCAL, port),
        "GET",
        &format!("{CREDENTIALS_PATH}{ROLE_NAME}"),
        &[("X-aws-ec2-metadata-token", &token)],
    );
    (answer.status, answer.json())
}

fn served_access_key(port: u16) -> String {
    let (status, doc) = imds_credentials(port);
    assert_eq!(status, 200, "{doc}");
    doc["AccessKeyId"].as_str().unwrap().to_string()
}

#[test]
fn botocore_gets_the_issued_credentials_through_imds_and_the_container_endpoint() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("serve-ec", KeyKind::EcP256);
    let (mut serve, port, token_file) =
        start_serve(&pki, &endpoint.url, &endpoint.tls_ca, &leaf, &[], &[]);
    serve.wait_ready();

    let token = std::fs::read(&token_file).unwrap();
    assert!(
        token.len() >= 32 && !token.ends_with(b"\n"),
        "no trailing newline"
    );
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "the token file is private");

    let records = endpoint.records();
    assert_eq!(records.len(), 1, "one CreateSession: {records:?}");
    let issued = records[0]["access_key_id"].as_str().unwrap().to_string();

    let base = format!("http://127.0.0.1:{port}/");
    let through_imds = botocore(
        &pki,
        BOTOCORE_RESOLVE,
        &[("AWS_EC2_METADATA_SERVICE_ENDPOINT", &base)],
    );
    assert_eq!(through_imds["method"], "iam-role", "{through_imds}");
    assert_eq!(through_imds["access_key"], issued.as_str());
    assert!(
        through_imds["token"]
            .as_str()
            .is_some_and(|t| !t.is_empty())
    );
    let seconds_left = through_imds["seconds_left"].as_f64().unwrap();
    assert!(
        seconds_left > 3000.0 && seconds_left <= 3600.0,
        "{seconds_left}"
    );

    let full_uri = format!("http://127.0.0.1:{port}/v1/credentials");
    let through_container = botocore(
        &pki,
        BOTOCORE_RESOLVE,
        &[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", &full_uri),
            (
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                token_file.to_str().unwrap(),
            ),
        ],
    );
    assert_eq!(
        through_container["method"], "container-role",
        "{through_container}"
    );
    assert_eq!(through_container["access_key"], issued.as_str());
    assert_eq!(through_container["secret_key"], through_imds["secret_key"]);

    assert_eq!(endpoint.records().len(), 1, "still one CreateSession");
    let status = serve.terminate();
    assert_eq!(
        status.code(),
        Some(0),
        "SIGTERM stops it cleanly: {}",
        serve.stderr()
    );
    let stderr = serve.stderr();
    assert!(
        !stderr.contains(through_imds["secret_key"].as_str().unwrap()),
        "no secret in the log"
    );
}

#[test]
fn imds_and_container_protocol_edge_cases() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("edges", KeyKind::EcP256);
    let (mut serve, port, token_file) = start_serve(
        &pki,
        &endpoint.url,
        &endpoint.tls_ca,
        &leaf,
        &["--hop-limit", "1"],
        &[],
    );
    serve.wait_ready();
    let at = (LOCAL, port);
    let ttl = "X-aws-ec2-metadata-token-ttl-seconds";

    // The token PUT: TTL 1..21600 echoed back; proxied requests and other methods refused.
    let answer = http(at, "PUT", "/latest/api/token", &[(ttl, "300")]);
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header(ttl),
        Some("300"),
        "aws-sdk-rust needs the TTL echoed"
    );
    let token = answer.text();
    for bad in ["0", "21601", "abc"] {
        assert_eq!(
            http(at, "PUT", "/latest/api/token", &[(ttl, bad)]).status,
            400,
            "{bad}"
        );
    }
    assert_eq!(http(at, "PUT", "/latest/api/token", &[]).status, 400);
    let forwarded = [(ttl, "300"), ("X-Forwarded-For", "203.0.113.9")];
    assert_eq!(http(at, "PUT", "/latest/api/token", &forwarded).status, 403);
    assert_eq!(http(at, "GET", "/latest/api/token", &[]).status, 405);

    // Credentials need a live token.
    let auth = [("X-aws-ec2-metadata-token", token.as_str())];
    let role_path = format!("{CREDENTIALS_PATH}{ROLE_NAME}");
    assert_eq!(
        http(at, "GET", &role_path, &[]).status,
        401,
        "missing token"
    );
    let forged = [(
        "X-aws-ec2-metadata-token",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    )];
    assert_eq!(
        http(at, "GET", &role_path, &forged).status,
        401,
        "unknown token"
    );
    let short = http(at, "PUT", "/latest/api/token", &[(ttl, "1")]).text();
    std::thread::sleep(Duration::from_millis(1500));
    let expired = [("X-aws-ec2-metadata-token", short.as_str())];
    assert_eq!(
        http(at, "GET", &role_path, &expired).status,
        401,
        "expired token"
    );
    assert_eq!(http(at, "POST", &role_path, &auth).status, 405);

    let role = http(at, "GET", CREDENTIALS_PATH, &auth);
    assert_eq!(
        (role.status, role.text()),
        (200, ROLE_NAME.to_string()),
        "no newline"
    );
    let creds = http(at, "GET", &role_path, &auth);
    assert_eq!(creds.status, 200);
    let doc = creds.json();
    let mut keys: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "AccessKeyId",
            "Code",
            "Expiration",
            "LastUpdated",
            "SecretAccessKey",
            "Token",
            "Type"
        ]
    );
    assert_eq!(doc["Code"], "Success");
    assert_eq!(doc["Type"], "AWS-HMAC");
    assert_eq!(doc["AccessKeyId"], endpoint.records()[0]["access_key_id"]);
    assert_eq!(doc["Expiration"].as_str().unwrap().len(), 20);

    let extended = "/latest/meta-data/iam/security-credentials-extended/";
    let listed = http(at, "GET", extended, &auth);
    assert_eq!(listed.text(), ROLE_NAME);
    let doc = http(at, "GET", &format!("{extended}{ROLE_NAME}"), &auth).json();
    assert_eq!(doc["AccountId"], "123456789012");
    assert_eq!(doc["Code"], "Success");
    assert_eq!(
        http(at, "GET", &format!("{CREDENTIALS_PATH}other-role"), &auth).status,
        404
    );
    assert_eq!(
        http(at, "GET", "/latest/meta-data/ami-id", &auth).status,
        404
    );
    assert_eq!(http(at, "GET", "/elsewhere", &[]).status, 404);

    // The container endpoint: 401 without the token, 403 with a wrong one.
    let container_token = std::fs::read_to_string(&token_file).unwrap();
    assert_eq!(http(at, "GET", "/v1/credentials", &[]).status, 401);
    let wrong = [("Authorization", "wrong-token")];
    assert_eq!(http(at, "GET", "/v1/credentials", &wrong).status, 403);
    let right = [("Authorization", container_token.as_str())];
    let answer = http(at, "GET", "/v1/credentials", &right);
    assert_eq!(answer.status, 200);
    let doc = answer.json();
    let mut keys: Vec<&str> = doc
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "AccessKeyId",
            "AccountId",
            "Expiration",
            "SecretAccessKey",
            "Token"
        ]
    );

    // IPv6 loopback serves too, when the host has it.
    if std::net::TcpStream::connect(("::1", port)).is_ok() {
        assert_eq!(
            http(("::1", port), "GET", "/v1/credentials", &right).status,
            200
        );
    }
}

#[test]
fn a_non_loopback_bind_serves_only_the_container_endpoint() {
    // The host's outward address, found without sending a packet.
    let probe = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
    let outward = probe
        .connect("192.0.2.1:9")
        .and_then(|()| probe.local_addr())
        .map(|a| a.ip())
        .ok()
        .filter(|ip| !ip.is_loopback() && !ip.is_unspecified());
    let Some(outward) = outward else {
        eprintln!("no non-loopback IPv4 address on this host: checking loopback only");
        return;
    };
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("bind", KeyKind::EcP256);
    let outward_text = outward.to_string();
    // The outward address next to loopback, and the wildcard (which accepts both).
    for binds in [
        &["--bind", "127.0.0.1", "--bind", &outward_text][..],
        &["--bind", "0.0.0.0"][..],
    ] {
        let (mut serve, port, token_file) =
            start_serve(&pki, &endpoint.url, &endpoint.tls_ca, &leaf, binds, &[]);
        serve.wait_ready();
        let ttl = ("X-aws-ec2-metadata-token-ttl-seconds", "60");
        let remote = (outward_text.as_str(), port);
        assert_eq!(
            http(remote, "PUT", "/latest/api/token", &[ttl]).status,
            403,
            "{binds:?}"
        );
        assert_eq!(http(remote, "GET", CREDENTIALS_PATH, &[]).status, 403);
        // An IMDS token from loopback does not open IMDS beyond it either.
        let local_token = imds_token(port);
        let with_token = [("X-aws-ec2-metadata-token", local_token.as_str())];
        let role_path = format!("{CREDENTIALS_PATH}{ROLE_NAME}");
        assert_eq!(http(remote, "GET", &role_path, &with_token).status, 403);
        let token = std::fs::read_to_string(&token_file).unwrap();
        let right = [("Authorization", token.as_str())];
        let answer = http(remote, "GET", "/v1/credentials", &right);
        assert_eq!(answer.status, 200, "{binds:?}");
        assert_eq!(
            answer.json()["AccessKeyId"],
            endpoint.records().last().unwrap()["access_key_id"]
        );
        assert_eq!(http(remote, "GET", "/v1/credentials", &[]).status, 401);
        let wrong = [("Authorization", "not-the-token")];
        assert_eq!(http(remote, "GET", "/v1/credentials", &wrong).status, 403);
        // Loopback still has IMDS.
        assert_eq!(
            http((LOCAL, port), "GET", &role_path, &with_token).status,
            200,
            "{binds:?}"
        );
        assert_eq!(serve.terminate().code(), Some(0));
    }
}

#[test]
fn no_secret_in_the_debug_log_through_requests_and_refreshes() {
    let pki = Pki::new();
    let endpoint = InProcessEndpoint::start(&pki);
    let leaf = pki.leaf("debug-log", KeyKind::EcP256);
    let container_token = "ctok-9f8e7d6c5b4a39281706f5e4d3c2b1a0";
    let wrong_token = "wrong-4c3b2a190817f6e5d4c3b2a1";
    let (mut serve, port, _) = start_serve(
        &pki,
        &endpoint.url,
        &endpoint.tls_ca,
        &leaf,
        &[
            "--debug",
            "--container-token",
            container_token,
            "--session-duration",
            "900",
        ],
        &[FAST_REFRESH],
    );
    serve.wait_ready();
    let role_path = format!("{CREDENTIALS_PATH}{ROLE_NAME}");
    let extended = format!("/latest/meta-data/iam/security-credentials-extended/{ROLE_NAME}");
    let mut secrets: Vec<String> = vec![container_token.into(), wrong_token.into()];
    // Requests of every kind through at least two refreshes.
    while endpoint.issued().len() < 3 {
        let imds = imds_token(port);
        secrets.push(imds.clone());
        let auth = [("X-aws-ec2-metadata-token", imds.as_str())];
        assert_eq!(
            http((LOCAL, port), "GET", CREDENTIALS_PATH, &auth).status,
            200
        );
        for path in [&role_path, &extended] {
            let doc = http((LOCAL, port), "GET", path, &auth).json();
            secrets.push(doc["SecretAccessKey"].as_str().unwrap().into());
            secrets.push(doc["Token"].as_str().unwrap().into());
        }
        let answer = http(
            (LOCAL, port),
            "GET",
            "/v1/credentials",
            &[("Authorization", container_token)],
        );
        let doc = answer.json();
        secrets.push(doc["SecretAccessKey"].as_str().unwrap().into());
        secrets.push(doc["Token"].as_str().unwrap().into());
        let refused = [("Authorization", wrong_token)];
        assert_eq!(
            http((LOCAL, port), "GET", "/v1/credentials", &refused).status,
            403
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    // The credentials of the last refresh, served or not yet.
    let latest = endpoint
        .issued()
        .last()
        .unwrap()
        .access_key_id
        .clone()
        .unwrap();
    wait_until(
        "the latest credentials served",
        Duration::from_secs(10),
        || served_access_key(port) == latest,
    );
    let doc = imds_credentials(port).1;
    secrets.push(doc["SecretAccessKey"].as_str().unwrap().into());
    secrets.push(doc["Token"].as_str().unwrap().into());
    assert_eq!(serve.terminate().code(), Some(0));

    let stderr = serve.stderr();
    assert!(
        stderr.contains("answered") && stderr.contains("credentials refreshed"),
        "debug traces of requests and refreshes: {stderr}"
    );
    secrets.sort();
    secrets.dedup();
    assert!(secrets.len() >= 8, "{} distinct secrets", secrets.len());
    for secret in &secrets {
        // The whole value, and any 16-character piece of it.
        let pieces = secret.as_bytes().chunks(16).filter(|c| c.len() == 16);
        for piece in std::iter::once(secret.as_bytes()).chain(pieces) {
            let piece = String::from_utf8_lossy(piece);
            assert!(
                !stderr.contains(piece.as_ref()),
                "a secret ({piece}…) in the debug log: {stderr}"
            );
        }
    }
}

#[test]
fn many_concurrent_requests_cause_one_create_session() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("concurrent", KeyKind::EcP256);
    let (mut serve, port, token_file) =
        start_serve(&pki, &endpoint.url, &endpoint.tls_ca, &leaf, &[], &[]);
    serve.wait_ready();
    let container_token = std::fs::read_to_string(&token_file).unwrap();
    let threads: Vec<_> = (0..48)
        .map(|i| {
            let container_token = container_token.clone();
            std::thread::spawn(move || {
                if i % 2 == 0 {
                    served_access_key(port)
                } else {
                    let answer = http(
                        (LOCAL, port),
                        "GET",
                        "/v1/credentials",
                        &[("Authorization", &container_token)],
                    );
                    assert_eq!(answer.status, 200);
                    answer.json()["AccessKeyId"].as_str().unwrap().to_string()
                }
            })
        })
        .collect();
    let keys: Vec<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let records = endpoint.records();
    assert_eq!(records.len(), 1, "48 requests, one CreateSession");
    assert!(keys.iter().all(|k| *k == records[0]["access_key_id"]));
}

#[test]
fn refreshes_keep_the_last_good_credentials_through_failures_and_pick_up_a_renewed_certificate() {
    let pki = Pki::new();
    let endpoint = InProcessEndpoint::start(&pki);
    let leaf = pki.leaf("refresh", KeyKind::EcP256);
    let (mut serve, port, _) = start_serve(
        &pki,
        &endpoint.url,
        &endpoint.tls_ca,
        &leaf,
        &["--session-duration", "900"],
        &[FAST_REFRESH],
    );
    serve.wait_ready();
    let first = endpoint.issued();
    assert_eq!(first.len(), 1);
    let first_key = first[0].access_key_id.clone().unwrap();
    assert_eq!(served_access_key(port), first_key);

    // The endpoint fails every refresh: the last good credentials are still served.
    endpoint.set_failing(true);
    wait_until("failed refreshes", Duration::from_secs(30), || {
        endpoint.failed() >= 4
    });
    assert_eq!(
        served_access_key(port),
        first_key,
        "last good credentials kept"
    );

    // It recovers, and the certificate was renewed meanwhile: the new one is used, no restart.
    let first_serial = first[0].serial.clone().unwrap();
    renew_leaf(&pki, &leaf, "refresh-renewed");
    endpoint.set_failing(false);
    wait_until(
        "a refresh with the renewed certificate",
        Duration::from_secs(30),
        || {
            endpoint
                .issued()
                .last()
                .is_some_and(|r| r.serial.as_deref() != Some(first_serial.as_str()))
        },
    );
    let latest = endpoint
        .issued()
        .last()
        .unwrap()
        .access_key_id
        .clone()
        .unwrap();
    wait_until(
        "the new credentials served",
        Duration::from_secs(10),
        || served_access_key(port) == latest,
    );
    assert_ne!(latest, first_key);
    assert_eq!(serve.terminate().code(), Some(0));
}

#[test]
fn without_valid_credentials_the_answer_is_an_error_never_success() {
    let pki = Pki::new();
    let leaf = pki.leaf("none", KeyKind::EcP256);
    // Never any credentials: the endpoint fails every request.
    let failing = LocalEndpoint::start(&pki, &pki.root_pem, &["--fail-next", "1000000"]);
    // Only credentials that expired before they arrived (the endpoint's clock is 1000 s behind).
    let stale = LocalEndpoint::start(
        &pki,
        &pki.root_pem,
        &["--clock-offset", "-1000", "--max-clock-skew", "3000"],
    );
    for (name, endpoint) in [("failing", &failing), ("stale", &stale)] {
        let (mut serve, port, token_file) = start_serve(
            &pki,
            &endpoint.url,
            &endpoint.tls_ca,
            &leaf,
            &["--session-duration", "900"],
            &[FAST_REFRESH],
        );
        serve.wait_listening(port);
        // The failure is logged once the refresh (with its own retries) gives up.
        wait_until("a failed refresh", Duration::from_secs(30), || {
            serve.stderr().contains("refreshing credentials failed")
        });
        let (status, doc) = imds_credentials(port);
        assert_eq!(status, 503, "{name}: {doc}");
        assert_ne!(doc["Code"], "Success", "{name}");
        assert!(doc.get("AccessKeyId").is_none(), "{name}: {doc}");
        let container_token = std::fs::read_to_string(&token_file).unwrap();
        let answer = http(
            (LOCAL, port),
            "GET",
            "/v1/credentials",
            &[("Authorization", &container_token)],
        );
        assert_eq!(answer.status, 503, "{name}");
        assert!(answer.json().get("AccessKeyId").is_none());
        assert_eq!(serve.terminate().code(), Some(0));
    }
}

#[test]
fn a_bad_configuration_ends_serve_with_its_exit_code() {
    let pki = Pki::new();
    let leaf = pki.leaf("bad", KeyKind::EcP256);
    std::fs::remove_file(&leaf.cert).unwrap();
    let port = free_port().to_string();
    let args = credential_process_args(Some("https://127.0.0.1:9"), &[]);
    let mut args: Vec<&str> = strs(&args);
    args[0] = "serve";
    let leaf_flags = leaf_args(&leaf);
    args.extend(strs(&leaf_flags));
    args.extend(["--port", &port]);
    let output = helper(&args, &[]);
    assert_eq!(
        output.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("--certificate"));

    let output = helper(&["serve", "--role-arn", "nonsense"], &[]);
    assert_eq!(output.status.code(), Some(2));
}
