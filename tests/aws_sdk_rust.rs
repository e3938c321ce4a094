//! aws-sdk-rust as a real client of `serve`: the `aws-config` crate's IMDS and container (ECS)
//! credentials providers get exactly the credentials the local endpoint issued, offline, over
//! plain HTTP on 127.0.0.1.

mod common;
mod long_running;

use std::process::Command;
use std::time::{Duration, SystemTime};

use aws_config::ecs::EcsCredentialsProvider;
use aws_config::imds::credentials::ImdsCredentialsProvider;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials as _;
use aws_smithy_http_client::tls;
use common::*;
use long_running::*;
use rolesanywhere_testbed::pki::KeyKind;

/// Set in the child process that runs the container provider (see below).
const CHILD_ENV: &str = "RAH_TEST_AWS_SDK_RUST_CHILD";
const CHILD_TEST: &str =
    "aws_config_gets_the_issued_credentials_through_imds_and_the_container_endpoint";
const CHILD_PREFIX: &str = "aws-sdk-rust container provider: ";

/// The SDK's own HTTP client (hyper + rustls on ring), which also speaks plain HTTP.
fn provider_config() -> ProviderConfig {
    let http_client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    ProviderConfig::empty().with_http_client(http_client)
}

fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

fn seconds_left(credentials: &Credentials) -> u64 {
    credentials
        .expiry()
        .expect("an expiry")
        .duration_since(SystemTime::now())
        .unwrap_or_default()
        .as_secs()
}

#[test]
fn aws_config_gets_the_issued_credentials_through_imds_and_the_container_endpoint() {
    // Run again as a child process (see below), this test only asks the container provider.
    if std::env::var_os(CHILD_ENV).is_some() {
        container_provider_in_a_child_process();
        return;
    }
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("aws-sdk-rust", KeyKind::EcP256);
    let port = free_port();
    let token_file = pki.path("container-token");
    let mut args = vec![
        "--port".to_string(),
        port.to_string(),
        "--container-token-file".into(),
        token_file.to_str().unwrap().into(),
    ];
    args.extend(leaf_args(&leaf));
    let mut serve = Helper::start(
        &pki,
        "serve",
        &endpoint.url,
        &endpoint.tls_ca,
        &strs(&args),
        &[],
    );
    serve.wait_ready();
    let records = endpoint.records();
    assert_eq!(records.len(), 1);
    let issued = records[0]["access_key_id"].as_str().unwrap().to_string();

    // IMDS: the endpoint set through the client builder, as AWS_EC2_METADATA_SERVICE_ENDPOINT
    // would.
    let config = provider_config();
    let imds = block_on(async {
        let client = aws_config::imds::Client::builder()
            .configure(&config)
            .endpoint(format!("http://127.0.0.1:{port}/"))
            .unwrap()
            .build();
        ImdsCredentialsProvider::builder()
            .configure(&config)
            .imds_client(client)
            .build()
            .provide_credentials()
            .await
    })
    .unwrap_or_else(|e| panic!("IMDS provider: {e:?}; serve said: {}", serve.stderr()));
    assert_eq!(imds.access_key_id(), issued);
    assert_eq!(imds.secret_access_key().len(), 40);
    assert!(imds.session_token().is_some_and(|t| !t.is_empty()));
    let left = seconds_left(&imds);
    assert!((3000..=3600).contains(&left), "{left} s left");

    // The container provider reads its configuration from the environment only: it runs in a
    // child process (this test binary again), so this process's environment stays untouched.
    let mut child = Command::new(std::env::current_exe().unwrap());
    child
        .args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .env(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            format!("http://127.0.0.1:{port}/v1/credentials"),
        )
        .env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", &token_file);
    for name in [
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "HTTP_PROXY",
        "http_proxy",
        "ALL_PROXY",
        "all_proxy",
    ] {
        child.env_remove(name);
    }
    let output = run_bounded(&mut child, Duration::from_secs(60));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line = stdout
        .lines()
        .find_map(|l| l.split_once(CHILD_PREFIX).map(|(_, rest)| rest.trim()))
        .unwrap_or_else(|| panic!("the child printed no credentials: {stdout}"));
    let (container_key, container_secret) = line.split_once(' ').unwrap();
    assert_eq!(container_key, issued);
    assert_eq!(container_secret, imds.secret_access_key());

    assert_eq!(endpoint.records().len(), 1, "still one CreateSession");
    assert_eq!(serve.terminate().code(), Some(0));
}

/// The child's part: the container provider, configured by the environment the test set.
fn container_provider_in_a_child_process() {
    let config = provider_config();
    let credentials = block_on(
        EcsCredentialsProvider::builder()
            .configure(&config)
            .build()
            .provide_credentials(),
    )
    .unwrap_or_else(|e| panic!("container provider: {e:?}"));
    let left = seconds_left(&credentials);
    assert!((3000..=3600).contains(&left), "{left} s left");
    assert!(credentials.session_token().is_some_and(|t| !t.is_empty()));
    println!(
        "{CHILD_PREFIX}{} {}",
        credentials.access_key_id(),
        credentials.secret_access_key()
    );
}
