//! The endpoint over HTTPS with the helper's real client: credentials issued and logged without
//! secrets, refusals as the service sends them, injected faults the client retries through, and
//! AWS-shaped answers to raw requests.

use std::path::PathBuf;
use std::time::Duration;

use rolesanywhere_testbed::{EndpointConfig, FaultPlan, Outcome, RunningEndpoint, start};

use super::*;

/// Writes the leaf's files and returns `credential-process` arguments against `url`.
fn client_files(dir: &std::path::Path, leaf: &Leaf, url: &str) -> ClientFiles {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(
        &cert,
        pem::encode(&pem::Pem::new("CERTIFICATE", leaf.der.clone())),
    )
    .unwrap();
    std::fs::write(&key, leaf.key_pem.as_bytes()).unwrap();
    ClientFiles {
        cert,
        key,
        url: url.to_string(),
    }
}

/// A client's certificate and key files and the endpoint it calls.
struct ClientFiles {
    cert: PathBuf,
    key: PathBuf,
    url: String,
}

/// `credential-process`'s path, without printing.
fn fetch_credentials(
    files: &ClientFiles,
    options: &crate::settings::client::ClientOptions,
) -> crate::Result<(
    crate::credentials::Credentials,
    crate::credentials::SessionInfo,
)> {
    let settings = crate::commands::demo::credential_settings(
        &files.cert,
        &files.key,
        TA,
        PROFILE,
        ROLE,
        &files.url,
        options.clone(),
    );
    crate::credentials::one_shot::fetch(&settings)
}

fn start_endpoint(
    root: &Ca,
    dir: &std::path::Path,
    customize: impl FnOnce(&mut EndpointConfig),
) -> (RunningEndpoint, PathBuf) {
    let mut config = EndpointConfig::new(root.pem.as_bytes(), TA, PROFILE, vec![ROLE.to_string()]);
    customize(&mut config);
    let endpoint = start(config).unwrap();
    let ca_path = dir.join("tls-ca.pem");
    std::fs::write(&ca_path, endpoint.tls_ca_pem().unwrap()).unwrap();
    (endpoint, ca_path)
}

fn fast_retries(ca_path: PathBuf) -> crate::settings::client::ClientOptions {
    crate::settings::client::ClientOptions {
        ca_bundle: Some(ca_path),
        retry: crate::settings::client::RetryPolicy {
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            ..Default::default()
        },
        ..Default::default()
    }
}

#[test]
fn serves_the_real_client_and_logs_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let root = ca("Root", None, |_| {});
    let leaf = leaf(&root, KeyKind::EcP256, |_| {});
    let log = dir.path().join("requests.jsonl");
    let (endpoint, ca_path) =
        start_endpoint(&root, dir.path(), |c| c.request_log = Some(log.clone()));
    assert!(endpoint.url().starts_with("https://127.0.0.1:"));
    let args = client_files(dir.path(), &leaf, &endpoint.url());

    let (credentials, info) = fetch_credentials(&args, &fast_retries(ca_path)).unwrap();
    assert!(credentials.access_key_id.starts_with("ASIA"));
    assert_eq!(
        info.assumed_role_arn.as_deref(),
        Some("arn:aws:sts::123456789012:assumed-role/r/123456789")
    );
    let records = endpoint.records();
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record.outcome, Outcome::Issued);
    assert_eq!(record.status, Some(201));
    assert_eq!(
        record.access_key_id.as_deref(),
        Some(credentials.access_key_id.as_str())
    );
    assert!(record.remote_addr.starts_with("127.0.0.1:"));

    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().count(), 1);
    let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(line["outcome"], "issued");
    assert_eq!(line["access_key_id"], credentials.access_key_id.as_str());
    assert!(
        line["string_to_sign"]
            .as_str()
            .unwrap()
            .starts_with("AWS4-X509-ECDSA-SHA256\n")
    );
    assert!(
        !text.contains(&credentials.secret_access_key)
            && !text.contains(&credentials.session_token)
    );

    // A refusal reaches the client as the service would send it.
    let other_root = ca("Other Root", None, |_| {});
    let stranger = self::leaf(&other_root, KeyKind::EcP256, |_| {});
    let args = client_files(dir.path(), &stranger, &endpoint.url());
    let ca_path = dir.path().join("tls-ca.pem");
    match fetch_credentials(&args, &fast_retries(ca_path)) {
        Err(crate::Error::Denied { error, .. }) => {
            assert_eq!(
                (error.status, error.error_type.as_str()),
                (403, "AccessDeniedException")
            );
            assert!(
                error.message.starts_with("Untrusted signing certificate"),
                "{}",
                error.message
            );
            assert!(error.request_id.is_some());
        }
        other => panic!("expected a denial, got {other:?}"),
    }
    assert_eq!(
        endpoint.records().last().map(|r| r.outcome),
        Some(Outcome::Rejected)
    );
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 2);
    endpoint.shutdown();
}

#[test]
fn injects_faults_the_client_retries_through() {
    let dir = tempfile::tempdir().unwrap();
    let root = ca("Root", None, |_| {});
    let leaf = leaf(&root, KeyKind::EcP256, |_| {});
    let (endpoint, ca_path) = start_endpoint(&root, dir.path(), |c| {
        c.faults = FaultPlan {
            fail_next: 1,
            ..Default::default()
        };
    });
    let args = client_files(dir.path(), &leaf, &endpoint.url());
    let options = fast_retries(ca_path);

    fetch_credentials(&args, &options).unwrap();
    let outcomes: Vec<(Outcome, Option<u16>)> = endpoint
        .records()
        .iter()
        .map(|r| (r.outcome, r.status))
        .collect();
    assert_eq!(
        outcomes,
        [
            (Outcome::FaultInjected, Some(503)),
            (Outcome::Issued, Some(201))
        ]
    );
    let first = &endpoint.records()[0];
    assert_eq!(
        first.error_type.as_deref(),
        Some("ServiceUnavailableException")
    );
    assert!(first.verified, "the faulted request was itself valid");

    endpoint.clear_records();
    endpoint.set_faults(FaultPlan {
        drop_next: 1,
        fail_next: 1,
        fail_status: 429,
        ..Default::default()
    });
    fetch_credentials(&args, &options).unwrap();
    let outcomes: Vec<(Outcome, Option<u16>, Option<String>)> = endpoint
        .records()
        .iter()
        .map(|r| (r.outcome, r.status, r.error_type.clone()))
        .collect();
    assert_eq!(
        outcomes,
        [
            (Outcome::Dropped, None, None),
            (
                Outcome::FaultInjected,
                Some(429),
                Some("ThrottlingException".into())
            ),
            (Outcome::Issued, Some(201), None),
        ]
    );
    assert_eq!(
        endpoint.faults(),
        FaultPlan {
            fail_status: 429,
            ..Default::default()
        }
    );

    // Every attempt failing: the client gives up with an "unavailable" error.
    endpoint.set_faults(FaultPlan {
        fail_next: 10,
        ..Default::default()
    });
    match fetch_credentials(&args, &options) {
        Err(crate::Error::Unavailable(message)) => {
            assert!(message.contains("ServiceUnavailableException"), "{message}")
        }
        other => panic!("expected unavailable, got {other:?}"),
    }

    // A delay longer than the client's attempt timeout.
    endpoint.set_faults(FaultPlan {
        delay: Duration::from_millis(400),
        ..Default::default()
    });
    let mut impatient = options.clone();
    impatient.retry.attempt_timeout = Duration::from_millis(150);
    impatient.retry.max_attempts = 1;
    assert!(matches!(
        fetch_credentials(&args, &impatient),
        Err(crate::Error::Unavailable(_))
    ));
    let started = std::time::Instant::now();
    fetch_credentials(&args, &options).unwrap();
    assert!(started.elapsed() >= Duration::from_millis(400));
}

#[test]
fn answers_raw_requests_with_aws_shaped_errors() {
    let dir = tempfile::tempdir().unwrap();
    let root = ca("Root", None, |_| {});
    let (endpoint, ca_path) = start_endpoint(&root, dir.path(), |_| {});
    let tls = crate::session::tls::client_config(false, Some(&ca_path)).unwrap();
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .build()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let base = endpoint.url();
    let cases = [
        (
            "POST",
            "/sessions?profileArn=x",
            400,
            "ValidationException",
            "missing header X-Amz-Date",
        ),
        (
            "GET",
            "/sessions",
            405,
            "MethodNotAllowedException",
            "use POST",
        ),
        (
            "POST",
            "/",
            404,
            "UnknownOperationException",
            "POST /sessions",
        ),
    ];
    for (method, path, status, error_type, text) in cases {
        let response = runtime.block_on(async {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            client
                .request(method, format!("{base}{path}"))
                .body("{}")
                .send()
                .await
                .unwrap()
        });
        assert_eq!(response.status().as_u16(), status);
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        assert_eq!(header("x-amzn-errortype").as_deref(), Some(error_type));
        assert_eq!(header("content-type").as_deref(), Some("application/json"));
        assert_eq!(header("x-amzn-requestid").map(|id| id.len()), Some(36));
        assert!(header("date").is_some_and(|d| d.ends_with(" GMT")));
        let body: serde_json::Value =
            serde_json::from_slice(&runtime.block_on(response.bytes()).unwrap()).unwrap();
        assert!(body["message"].as_str().unwrap().contains(text), "{body}");
    }
    assert_eq!(endpoint.records().len(), 3);
    assert!(
        endpoint
            .records()
            .iter()
            .all(|r| r.outcome == Outcome::Rejected)
    );
}
