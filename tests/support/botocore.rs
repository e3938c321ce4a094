//! botocore (in the virtualenv the test command makes) as a real client of our outputs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use super::{Pki, run_bounded};

/// The Python with botocore installed by the test command; a missing one fails the test.
pub fn python_with_botocore() -> PathBuf {
    let python = std::env::var_os("RAH_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-venv/bin/python")
        });
    assert!(
        python.exists(),
        "no Python with botocore at {}: run ./scripts/test.sh, which installs it",
        python.display()
    );
    python
}

/// Runs a botocore snippet with a clean AWS environment plus `env`; returns its JSON output.
pub fn botocore(pki: &Pki, script: &str, env: &[(&str, &str)]) -> serde_json::Value {
    let python = python_with_botocore();
    let mut command = Command::new(python);
    command
        .args(["-c", script])
        .env("AWS_CONFIG_FILE", pki.path("no-such-config"))
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            pki.path("no-such-credentials"),
        )
        .env("AWS_DEFAULT_REGION", "us-east-1");
    for name in [
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_EC2_METADATA_DISABLED",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
    ] {
        command.env_remove(name);
    }
    for (k, v) in env {
        command.env(k, v);
    }
    let output = run_bounded(&mut command, Duration::from_secs(60));
    assert!(
        output.status.success(),
        "botocore: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("botocore printed JSON")
}

/// Resolves credentials with botocore's default chain; prints the method and the access key.
pub const BOTOCORE_RESOLVE: &str = r#"
import datetime, json, sys, botocore.session
session = botocore.session.Session()
credentials = session.get_credentials()
if credentials is None:
    print(json.dumps({"method": None}))
    sys.exit(0)
frozen = credentials.get_frozen_credentials()
expiry = getattr(credentials, "_expiry_time", None)
print(json.dumps({
    "method": credentials.method,
    "access_key": frozen.access_key,
    "secret_key": frozen.secret_key,
    "token": frozen.token,
    "seconds_left": (expiry - datetime.datetime.now(datetime.timezone.utc)).total_seconds() if expiry else None,
}))
"#;
