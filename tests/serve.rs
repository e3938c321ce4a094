//! `serve` end to end: the real binary between the local endpoint and real clients (botocore
//! through IMDS and through the container endpoint, raw HTTP for the protocol's edge cases), its
//! one refresher (one CreateSession however many requests, last good credentials kept through
//! failures, never "Success" without valid credentials), readiness and clean shutdown, no secret
//! in the `--debug` log, and IMDS refused beyond loopback.

use std::os::unix::fs::PermissionsExt as _;
use std::time::Duration;

use crate::support::testbed::KeyKind;
use crate::support::*;

const CREDENTIALS_PATH: &str = "/latest/meta-data/iam/security-credentials/";
const ROLE_NAME: &str = "test-role";
const LOCAL: &str = "127.0.0.1";

/// `serve` on a free port with a container token file; returns it with the port and token file.
fn start_serve(
    pki: &Pki,
    endpoint: &impl Endpoint,
    leaf: &Leaf,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (Running, u16, std::path::PathBuf) {
    let port = free_port();
    let token_file = pki.path(&format!("container-token-{}", next_unique()));
    let serve = Helper::command("serve")
        .endpoint(endpoint)
        .arg("--port")
        .arg(port.to_string())
        .arg("--container-token-file")
        .arg(&token_file)
        .leaf(leaf)
        .args(extra)
        .envs(env)
        .spawn();
    (serve, port, token_file)
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
    let (mut serve, port, token_file) = start_serve(&pki, &endpoint, &leaf, &[], &[]);
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
    let (mut serve, port, token_file) =
        start_serve(&pki, &endpoint, &leaf, &["--hop-limit", "1"], &[]);
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

/// Beyond loopback, only the container endpoint answers (with its token), never IMDS. Checked in
/// a private network namespace with an address of its own, so it never depends on the host's
/// interfaces: the endpoint, `serve` and every request run inside it.
#[test]
fn a_non_loopback_bind_serves_only_the_container_endpoint() {
    let netns = NetNs::create();
    let outward = netns.address;
    netns.run(|| non_loopback_bind_checks(outward));
}

fn non_loopback_bind_checks(outward: std::net::IpAddr) {
    assert!(!outward.is_loopback() && !outward.is_unspecified());
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("bind", KeyKind::EcP256);
    let outward_text = outward.to_string();
    // The outward address next to loopback, and the wildcard (which accepts both).
    for binds in [
        &["--bind", "127.0.0.1", "--bind", &outward_text][..],
        &["--bind", "0.0.0.0"][..],
    ] {
        let (mut serve, port, token_file) = start_serve(&pki, &endpoint, &leaf, binds, &[]);
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
        &endpoint,
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
    wait_for(
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
    let (mut serve, port, token_file) = start_serve(&pki, &endpoint, &leaf, &[], &[]);
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
        &endpoint,
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
    wait_for("failed refreshes", Duration::from_secs(30), || {
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
    wait_for(
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
    wait_for(
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
            endpoint,
            &leaf,
            &["--session-duration", "900"],
            &[FAST_REFRESH],
        );
        serve.wait_listening(port);
        // The failure is logged once the refresh (with its own retries) gives up.
        wait_for("a failed refresh", Duration::from_secs(30), || {
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

/// The message of a 503's error document (IMDS spells its keys `Code`/`Message`, the container
/// endpoint `code`/`message`).
fn unavailable_message(answer: &Answer) -> String {
    assert_eq!(answer.status, 503, "{}", answer.text());
    let doc = answer.json();
    assert!(doc.get("AccessKeyId").is_none(), "{doc}");
    let message = doc
        .get("Message")
        .or_else(|| doc.get("message"))
        .and_then(|m| m.as_str());
    message
        .unwrap_or_else(|| panic!("no message: {doc}"))
        .to_string()
}

/// The IMDS credentials and container answers, asked at the same time from two threads, each
/// waiting up to `limit` for its answer.
fn both_endpoints_within(port: u16, container_token: &str, limit: Duration) -> (Answer, Answer) {
    let imds = std::thread::spawn(move || {
        let token = imds_token(port);
        http_within(
            limit,
            (LOCAL, port),
            "GET",
            &format!("{CREDENTIALS_PATH}{ROLE_NAME}"),
            &[("X-aws-ec2-metadata-token", &token)],
        )
    });
    let container_token = container_token.to_string();
    let container = std::thread::spawn(move || {
        http_within(
            limit,
            (LOCAL, port),
            "GET",
            "/v1/credentials",
            &[("Authorization", &container_token)],
        )
    });
    (imds.join().unwrap(), container.join().unwrap())
}

/// Promise: serve listens at once, and a request that arrives while the first CreateSession is
/// in flight waits for it and gets the credentials (not a 503 saying "refreshing failed" when
/// nothing failed); systemd hears READY=1 only once they exist, and until then a STATUS= saying
/// what serve waits for.
#[test]
fn a_request_during_the_first_create_session_waits_for_it_and_ready_follows_the_credentials() {
    let pki = Pki::new();
    // Every CreateSession answer takes 2.5 s; there is only the first one in this test.
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &["--delay-ms", "2500"]);
    let leaf = pki.leaf("slow-first", KeyKind::EcP256);
    let started = std::time::Instant::now();
    let (mut serve, port, token_file) = start_serve(&pki, &endpoint, &leaf, &[], &[]);
    serve.wait_listening(port);
    wait_for("the container token file", Duration::from_secs(10), || {
        token_file.exists()
    });
    let container_token = std::fs::read_to_string(&token_file).unwrap();
    let before = serve.notifications(Duration::ZERO, |_| false);
    assert!(
        !before.iter().any(|d| d.lines().any(|l| l == "READY=1")),
        "READY=1 before any credentials exist: {before:?}"
    );
    assert!(
        before.iter().any(|d| d
            == "STATUS=waiting for the first credentials: the first CreateSession is in flight"),
        "{before:?}"
    );
    let asked = started.elapsed();
    assert!(
        asked < Duration::from_millis(2500),
        "asked during the delay"
    );
    let (imds, container) = both_endpoints_within(port, &container_token, Duration::from_secs(10));
    assert_eq!(imds.status, 200, "IMDS: {}", imds.text());
    assert_eq!(container.status, 200, "container: {}", container.text());
    assert!(
        started.elapsed() >= Duration::from_millis(2500),
        "answered only once the endpoint did"
    );
    let issued = endpoint.records()[0]["access_key_id"].clone();
    assert_eq!(imds.json()["AccessKeyId"], issued);
    assert_eq!(container.json()["AccessKeyId"], issued);
    let after = serve.notifications(Duration::from_secs(5), |d| {
        d.lines().any(|l| l == "READY=1")
    });
    assert!(
        after
            .last()
            .is_some_and(|d| d.lines().any(|l| l == "READY=1")),
        "READY=1 once the credentials arrived: {after:?}"
    );
    assert_eq!(endpoint.records().len(), 1, "one CreateSession");
    assert_eq!(serve.terminate().code(), Some(0));
}

/// Promise: a request never waits unbounded; when the first CreateSession is still in flight
/// after the wait (10 s), the 503 says so, on both endpoints, and READY=1 is not sent.
#[test]
fn the_wait_is_bounded_and_the_503_says_the_first_create_session_is_in_flight() {
    let pki = Pki::new();
    // Longer than the request's wait: the first attempt is still in flight when it ends.
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &["--delay-ms", "25000"]);
    let leaf = pki.leaf("slower-first", KeyKind::EcP256);
    let (mut serve, port, token_file) = start_serve(&pki, &endpoint, &leaf, &[], &[]);
    serve.wait_listening(port);
    wait_for("the container token file", Duration::from_secs(10), || {
        token_file.exists()
    });
    let container_token = std::fs::read_to_string(&token_file).unwrap();
    let asked = std::time::Instant::now();
    let (imds, container) = both_endpoints_within(port, &container_token, Duration::from_secs(20));
    let waited = asked.elapsed();
    assert!(
        waited >= Duration::from_secs(9) && waited < Duration::from_secs(15),
        "waited {waited:?}, bounded at about 10 s"
    );
    for answer in [&imds, &container] {
        assert_eq!(
            unavailable_message(answer),
            "no credentials yet: the first CreateSession is in flight"
        );
    }
    let notes = serve.notifications(Duration::ZERO, |_| false);
    assert!(
        !notes.iter().any(|d| d.lines().any(|l| l == "READY=1")),
        "{notes:?}"
    );
    assert_eq!(serve.terminate().code(), Some(0));
}

/// Promise: when refreshing fails, the 503 says "refreshing failed" with the reason, and so
/// does systemd's STATUS= while serve waits for its first credentials.
#[test]
fn a_failing_first_create_session_is_named_in_the_503_and_in_the_status() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &["--fail-next", "1000000"]);
    let leaf = pki.leaf("failing-first", KeyKind::EcP256);
    let (mut serve, port, token_file) = start_serve(
        &pki,
        &endpoint,
        &leaf,
        &["--session-duration", "900"],
        &[FAST_REFRESH],
    );
    serve.wait_listening(port);
    let notes = serve.notifications(Duration::from_secs(20), |d| {
        d.starts_with("STATUS=waiting for the first credentials: ") && d.ends_with("; retrying")
    });
    let status = notes.last().unwrap();
    assert!(
        status.contains("CreateSession") && status.ends_with("; retrying"),
        "the STATUS names the failure: {notes:?}"
    );
    assert!(!notes.iter().any(|d| d.lines().any(|l| l == "READY=1")));
    let container_token = std::fs::read_to_string(&token_file).unwrap();
    let (imds, container) = both_endpoints_within(port, &container_token, Duration::from_secs(15));
    for answer in [&imds, &container] {
        let message = unavailable_message(answer);
        assert!(
            message.starts_with("no credentials yet: refreshing failed: ")
                && message.contains("CreateSession"),
            "{message}"
        );
    }
    assert_eq!(serve.terminate().code(), Some(0));
}

/// A connection that sends part of a request head and then nothing (slowloris), or nothing at
/// all; `None` when the connect itself did not complete within a second.
fn idle_connection(port: u16, half_sent: bool) -> Option<std::net::TcpStream> {
    use std::io::Write as _;
    let address = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = std::net::TcpStream::connect_timeout(&address, Duration::from_secs(1)).ok()?;
    if half_sent {
        let _ = stream.write_all(b"GET /latest/api/token HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    }
    Some(stream)
}

/// The soft and hard "Max open files" of a running process, from /proc.
fn open_files_limits(pid: u32) -> (u64, u64) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let numbers: Vec<u64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    (numbers[0], numbers[1])
}

/// Promise: serve raises its descriptor soft limit to the hard limit, caps its connections with
/// descriptors in reserve, and under a flood of idle and half-sent connections (far more than
/// its descriptors) still answers legitimate clients, and its background refresh still works.
#[test]
fn a_descriptor_limited_serve_keeps_serving_and_refreshing_under_an_idle_connection_flood() {
    let pki = Pki::new();
    let endpoint = InProcessEndpoint::start(&pki);
    let leaf = pki.leaf("flood", KeyKind::EcP256);
    let port = free_port();
    let token_file = pki.path(&format!("container-token-{}", next_unique()));
    // Soft 64, hard 128: serve must raise the soft limit itself.
    let mut serve = Helper::command("serve")
        .endpoint(&endpoint)
        .arg("--port")
        .arg(port.to_string())
        .arg("--container-token-file")
        .arg(&token_file)
        .args(["--session-duration", "900", "--bind", LOCAL])
        .leaf(&leaf)
        .envs(&[FAST_REFRESH])
        .wrapped_in("prlimit", &["--nofile=64:128"])
        .spawn();
    serve.wait_ready();
    assert_eq!(
        open_files_limits(serve.child.id()),
        (128, 128),
        "the soft limit raised to the hard one"
    );
    let container_token = std::fs::read_to_string(&token_file).unwrap();

    // 400 connections, three times the descriptor limit, every other one half-sent.
    let flood: Vec<_> = (0..400)
        .filter_map(|i| idle_connection(port, i % 2 == 0))
        .collect();
    assert!(flood.len() >= 300, "{} flood connections", flood.len());
    let refreshes_before = endpoint.issued().len();
    let started = std::time::Instant::now();
    // Eight legitimate clients, one after the other, each answered well within its bound.
    for client in 0..8 {
        let asked = std::time::Instant::now();
        let answer = http_within(
            Duration::from_secs(5),
            (LOCAL, port),
            "GET",
            "/v1/credentials",
            &[("Authorization", &container_token)],
        );
        assert_eq!(answer.status, 200, "client {client}: {}", answer.text());
        assert!(asked.elapsed() < Duration::from_secs(3), "client {client}");
        // The flood is renewed meanwhile.
        let _more: Vec<_> = (0..20)
            .filter_map(|_| idle_connection(port, false))
            .collect();
    }
    // Refreshes (every 2.7 s) go on under the flood.
    wait_for(
        "two refreshes during the flood",
        Duration::from_secs(20),
        || endpoint.issued().len() >= refreshes_before + 2,
    );
    let stderr = serve.stderr();
    assert!(
        !stderr.contains("refreshing credentials failed")
            && !stderr.contains("Too many open files"),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    let latest = endpoint
        .issued()
        .last()
        .unwrap()
        .access_key_id
        .clone()
        .unwrap();
    wait_for(
        "the latest credentials served",
        Duration::from_secs(10),
        || served_access_key(port) == latest,
    );
    drop(flood);
    assert_eq!(serve.terminate().code(), Some(0));
}

/// Promise: IMDS tokens cannot be evicted by another local process: a token fetched before a
/// flood of 1,100 token PUTs (more than the old store's 1,024) still opens the credentials.
#[test]
fn a_flood_of_imds_token_puts_evicts_no_token_fetched_before() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("token-flood", KeyKind::EcP256);
    let (mut serve, port, _) = start_serve(&pki, &endpoint, &leaf, &[], &[]);
    serve.wait_ready();
    let token = imds_token(port);
    let started = std::time::Instant::now();
    for _ in 0..1100 {
        let answer = http(
            (LOCAL, port),
            "PUT",
            "/latest/api/token",
            &[("X-aws-ec2-metadata-token-ttl-seconds", "21600")],
        );
        assert_eq!(answer.status, 200);
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "bounded in time"
        );
    }
    let answer = http(
        (LOCAL, port),
        "GET",
        &format!("{CREDENTIALS_PATH}{ROLE_NAME}"),
        &[("X-aws-ec2-metadata-token", &token)],
    );
    assert_eq!(answer.status, 200, "the earlier token still works");
    assert_eq!(answer.json()["Code"], "Success");
    assert_eq!(serve.terminate().code(), Some(0));
}

/// Promise: the container token cannot be guessed quickly: after a few wrong tokens a peer gets
/// 429 (with Retry-After) and its tokens are not even checked until its budget refills; other
/// peers are not affected.
#[test]
fn wrong_container_tokens_are_rate_limited_per_peer() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("guessing", KeyKind::EcP256);
    let (mut serve, port, token_file) = start_serve(&pki, &endpoint, &leaf, &[], &[]);
    serve.wait_ready();
    let right = std::fs::read_to_string(&token_file).unwrap();
    let mut statuses = Vec::new();
    for i in 0..60 {
        let guess = format!("guess-{i:04}-aaaaaaaaaaaaaaaaaaaa");
        let answer = http(
            (LOCAL, port),
            "GET",
            "/v1/credentials",
            &[("Authorization", &guess)],
        );
        if answer.status == 429 {
            assert!(answer.header("Retry-After").is_some());
        }
        statuses.push(answer.status);
    }
    let checked = statuses.iter().filter(|s| **s == 403).count();
    assert!(
        (20..=25).contains(&checked),
        "a burst of about 20 guesses is checked, then 429: {statuses:?}"
    );
    assert_eq!(statuses.last(), Some(&429));
    let with_right = [("Authorization", right.as_str())];
    assert_eq!(
        http((LOCAL, port), "GET", "/v1/credentials", &with_right).status,
        429,
        "not checked while over budget: no oracle"
    );
    // Another peer (IPv6 loopback, when the host has it) is not affected.
    if std::net::TcpStream::connect(("::1", port)).is_ok() {
        assert_eq!(
            http(("::1", port), "GET", "/v1/credentials", &with_right).status,
            200
        );
    }
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        http((LOCAL, port), "GET", "/v1/credentials", &with_right).status,
        200,
        "the budget refills"
    );
    assert_eq!(serve.terminate().code(), Some(0));
}

/// Promise: a container token too short to guard a network-facing endpoint is a usage error
/// (exit 2, one line), from the flag and from its environment variable.
#[test]
fn a_short_container_token_is_a_usage_error() {
    let pki = Pki::new();
    let leaf = pki.leaf("short-token", KeyKind::EcP256);
    let port = free_port().to_string();
    let base = || {
        Helper::command("serve")
            .arns()
            .args(["--endpoint", "https://127.0.0.1:9", "--port", &port])
            .leaf(&leaf)
    };
    let output = base().args(["--container-token", "a"]).output();
    assert_clean_failure(&output, 2, "--container-token");
    assert!(stderr(&output).contains("16"), "{}", stderr(&output));
    let output = base()
        .env("ROLESANYWHERE_HELPER_CONTAINER_TOKEN", "fifteen-chars-x")
        .output();
    assert_clean_failure(&output, 2, "--container-token");
    // Sixteen characters are enough (serve then runs; stopped at once).
    let mut serve = base()
        .args(["--container-token", "sixteen-chars-xx"])
        .spawn();
    serve.wait_listening(port.parse().unwrap());
    assert_eq!(serve.terminate().code(), Some(0));
}

#[test]
fn container_token_file_mode_lets_the_group_read_the_token_and_never_others() {
    let pki = Pki::new();
    let endpoint = InProcessEndpoint::start(&pki);
    let leaf = pki.leaf("serve-mode", KeyKind::EcP256);
    let (mut serve, port, token_file) = start_serve(
        &pki,
        &endpoint,
        &leaf,
        &["--container-token-file-mode", "0640"],
        &[],
    );
    serve.wait_ready();
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o7777, 0o640, "group-readable, nothing for others");
    let token = std::fs::read_to_string(&token_file).unwrap();
    let answer = http(
        (LOCAL, port),
        "GET",
        "/v1/credentials",
        &[("Authorization", token.as_str())],
    );
    assert_eq!(answer.status, 200, "{}", answer.text());
    serve.terminate();

    let mut table = Table::new("refused modes");
    for mode in [
        "0644",
        "0606",
        "0777",
        "640x",
        "rw-r-----",
        "0x1a0",
        "04640",
    ] {
        table.row(mode, || {
            let token_file = pki.path(&format!("refused-token-{}", next_unique()));
            let output = Helper::command("serve")
                .endpoint(&endpoint)
                .leaf(&leaf)
                .args(["--port", &free_port().to_string()])
                .arg("--container-token-file")
                .arg(&token_file)
                .args(["--container-token-file-mode", mode])
                .output();
            assert_clean_failure(&output, 2, "--container-token-file-mode");
            assert!(!token_file.exists(), "no token file written");
        });
    }
    table.assert_all_passed();
    assert_eq!(
        endpoint.records().len(),
        1,
        "only the first serve asked for credentials"
    );
}
