//! Settings in a profile of ~/.aws/config: botocore runs `credential-process --profile NAME`,
//! flags given by hand win over the profile, and a mistyped key is named.

use crate::support::testbed::KeyKind;
use crate::support::*;

fn write_config(
    pki: &Pki,
    leaf: &Leaf,
    endpoint: &LocalEndpoint,
    role_arn: &str,
    extra: &str,
) -> std::path::PathBuf {
    let config = pki.path("aws-config");
    std::fs::write(
        &config,
        format!(
            "[default]\nregion = eu-west-1\n\n[profile ra]\nregion = us-east-1\ncredential_process = {BIN} credential-process --profile ra\nrolesanywhere_certificate = {}\nrolesanywhere_private_key = {}\nrolesanywhere_trust_anchor_arn = {TRUST_ANCHOR_ARN}\nrolesanywhere_profile_arn = {PROFILE_ARN}\nrolesanywhere_role_arn = {role_arn}\nrolesanywhere_endpoint = {}\n{extra}",
            leaf.cert.display(),
            leaf.key.display(),
            endpoint.url
        ),
    )
    .unwrap();
    config
}

#[test]
fn botocore_uses_a_profile_whose_settings_live_in_the_config_file() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("leaf", KeyKind::EcP256);
    let config = write_config(&pki, &leaf, &endpoint, ROLE_ARN, "");
    let mut command = std::process::Command::new(python_with_botocore());
    command
        .args(["-c", "import json, botocore.session\nc = botocore.session.Session(profile='ra').get_credentials()\nprint(json.dumps({'method': c.method, 'access_key': c.access_key}))"])
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_SHARED_CREDENTIALS_FILE", pki.path("none"))
        .env("AWS_CA_BUNDLE", &endpoint.tls_ca)
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_PROFILE")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    let output = run_bounded(&mut command, std::time::Duration::from_secs(60));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let resolved: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(resolved["method"], "custom-process");
    assert_eq!(
        resolved["access_key"],
        endpoint.records().pop().unwrap()["access_key_id"]
    );
}

#[test]
fn flags_win_over_the_profile_and_mistakes_are_named() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("leaf", KeyKind::EcP256);
    let ca = endpoint.tls_ca.to_str().unwrap();
    let unknown_role = "arn:aws:iam::123456789012:role/not-allowed";

    // The profile names a role the endpoint refuses; the flag's role is used instead.
    let config = write_config(&pki, &leaf, &endpoint, unknown_role, "");
    let config_env = config.to_str().unwrap();
    let output = helper(
        &[
            "credential-process",
            "--profile",
            "ra",
            "--role-arn",
            ROLE_ARN,
        ],
        &[("AWS_CONFIG_FILE", config_env), ("AWS_CA_BUNDLE", ca)],
    );
    parse_credential_process(&output);
    assert_eq!(endpoint.records().pop().unwrap()["role_arn"], ROLE_ARN);
    // And without the flag, the profile's role is what is asked for.
    let output = helper(
        &["credential-process", "--profile", "ra"],
        &[("AWS_CONFIG_FILE", config_env), ("AWS_CA_BUNDLE", ca)],
    );
    assert_clean_failure(&output, 4, "ResourceNotFoundException");

    let config = write_config(
        &pki,
        &leaf,
        &endpoint,
        ROLE_ARN,
        "rolesanywhere_role_arm = typo\n",
    );
    let output = helper(
        &["credential-process", "--profile", "ra"],
        &[("AWS_CONFIG_FILE", config.to_str().unwrap())],
    );
    assert_clean_failure(&output, 3, "unknown key rolesanywhere_role_arm");
    let output = helper(
        &["credential-process", "--profile", "nope"],
        &[("AWS_CONFIG_FILE", config.to_str().unwrap())],
    );
    assert_clean_failure(&output, 2, "no profile 'nope'");
}

#[test]
fn serve_reads_its_settings_from_a_config_profile() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("leaf", KeyKind::EcP256);
    let config = write_config(&pki, &leaf, &endpoint, ROLE_ARN, "");
    let port = free_port();
    let token = "a-container-token-for-the-test";
    let mut serve = Helper::bare()
        .args(["serve", "--profile", "ra", "--port", &port.to_string()])
        .env("AWS_CONFIG_FILE", &config)
        .env("AWS_CA_BUNDLE", &endpoint.tls_ca)
        .env("ROLESANYWHERE_HELPER_CONTAINER_TOKEN", token)
        .spawn();
    serve.wait_ready();
    let answer = http(
        ("127.0.0.1", port),
        "GET",
        "/v1/credentials",
        &[("Authorization", token)],
    );
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(
        answer.json()["AccessKeyId"],
        endpoint.records().pop().unwrap()["access_key_id"]
    );
    serve.terminate();

    let output = Helper::bare()
        .args(["serve", "--profile", "nope"])
        .env("AWS_CONFIG_FILE", &config)
        .output();
    assert_clean_failure(&output, 2, "--profile: no profile 'nope'");
}

#[test]
fn update_reads_its_settings_from_config_profile_and_writes_its_profile_section() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("leaf", KeyKind::EcP256);
    let config = write_config(&pki, &leaf, &endpoint, ROLE_ARN, "");
    let credentials = pki.path("credentials");
    let update = |args: &[&str]| {
        Helper::bare()
            .arg("update")
            .args(args)
            .env("AWS_CONFIG_FILE", &config)
            .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
            .env("AWS_CA_BUNDLE", &endpoint.tls_ca)
            .output()
    };
    let output = update(&["--config-profile", "ra", "--profile", "edge", "--once"]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let written = std::fs::read_to_string(&credentials).unwrap();
    let issued = endpoint.records().pop().unwrap()["access_key_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        written.starts_with("[edge]\n")
            && written.contains(&format!("aws_access_key_id = {issued}")),
        "{written}"
    );

    // update's --profile is the credentials file's section, never a config profile: alone it
    // brings no settings.
    let output = update(&["--profile", "ra", "--once"]);
    assert_clean_failure(&output, 2, "--trust-anchor-arn: is required");
    let output = update(&["--config-profile", "nope", "--once"]);
    assert_clean_failure(&output, 2, "--config-profile: no profile 'nope'");
}
