//! A real AWS SDK as the client of our output: botocore resolves credentials through a
//! `credential_process` profile that runs the binary against the local endpoint.

mod common;

use common::*;
use rolesanywhere_testbed::pki::KeyKind;

const BOTOCORE_RESOLVE: &str = r#"
import datetime, json, botocore.session
session = botocore.session.Session(profile="roles-anywhere")
credentials = session.get_credentials()
frozen = credentials.get_frozen_credentials()
expiry = credentials._expiry_time
print(json.dumps({
    "method": credentials.method,
    "access_key": frozen.access_key,
    "secret_key": frozen.secret_key,
    "token": frozen.token,
    "seconds_left": (expiry - datetime.datetime.now(datetime.timezone.utc)).total_seconds(),
}))
"#;

#[test]
fn botocore_gets_the_credentials_the_endpoint_issued_through_credential_process() {
    let python = python_with_botocore();
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let ec = pki.leaf("ec", KeyKind::EcP256);
    let rsa = pki.leaf("rsa", KeyKind::Rsa(2048));
    // An encrypted PKCS#8 key and a PKCS#12 bundle, as CA tooling writes them.
    let encrypted = pki.path("ec-encrypted.key");
    openssl(
        &[
            "pkcs8",
            "-topk8",
            "-v2",
            "aes-256-cbc",
            "-passout",
            "pass:key-pass",
            "-in",
        ],
        &[&ec.key, std::path::Path::new("-out"), &encrypted],
    );
    let bundle = pki.path("rsa.p12");
    openssl(
        &["pkcs12", "-export", "-passout", "pass:p12-pass", "-inkey"],
        &[
            &rsa.key,
            std::path::Path::new("-in"),
            &rsa.cert,
            std::path::Path::new("-out"),
            &bundle,
        ],
    );
    let cases = [
        (
            "ec",
            format!(
                "--certificate {} --private-key {}",
                ec.cert.display(),
                ec.key.display()
            ),
        ),
        (
            "rsa",
            format!(
                "--certificate {} --private-key {}",
                rsa.cert.display(),
                rsa.key.display()
            ),
        ),
        (
            "encrypted PKCS#8",
            format!(
                "--certificate {} --private-key {} --pkcs8-password key-pass",
                ec.cert.display(),
                encrypted.display()
            ),
        ),
        (
            "PKCS#12",
            format!(
                "--certificate {} --pkcs12-password p12-pass",
                bundle.display()
            ),
        ),
    ];
    for (index, (name, key_args)) in cases.iter().enumerate() {
        let config = pki.path(&format!("aws-config-{index}"));
        std::fs::write(
            &config,
            format!(
                "[profile roles-anywhere]\nregion = us-east-1\ncredential_process = {BIN} credential-process {key_args} --trust-anchor-arn {TRUST_ANCHOR_ARN} --profile-arn {PROFILE_ARN} --role-arn {ROLE_ARN} --endpoint {}\n",
                endpoint.url
            ),
        )
        .unwrap();
        let mut command = std::process::Command::new(&python);
        command
            .args(["-c", BOTOCORE_RESOLVE])
            .env("AWS_CONFIG_FILE", &config)
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                pki.path("no-such-credentials-file"),
            )
            .env("AWS_CA_BUNDLE", &endpoint.tls_ca)
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
            .env("AWS_EC2_METADATA_DISABLED", "true");
        let output = run_bounded(&mut command, std::time::Duration::from_secs(60));
        assert!(
            output.status.success(),
            "botocore: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let resolved: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(resolved["method"], "custom-process");
        let record = endpoint
            .records()
            .pop()
            .expect("the endpoint saw the request");
        assert_eq!(
            resolved["access_key"], record["access_key_id"],
            "{name}: exactly the issued credentials"
        );
        assert!(
            resolved["secret_key"]
                .as_str()
                .is_some_and(|s| s.len() >= 40)
        );
        assert!(resolved["token"].as_str().is_some_and(|s| !s.is_empty()));
        let seconds_left = resolved["seconds_left"].as_f64().unwrap();
        assert!(
            seconds_left > 3000.0 && seconds_left <= 3600.0,
            "botocore parsed the expiration: {seconds_left}"
        );
    }
}
