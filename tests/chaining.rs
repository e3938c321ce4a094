//! Role chaining (`--assume-role-arn`) against moto as a real STS: the chained credentials moto
//! issued come out of every output, the AssumeRole request moto received (its recorder) carries
//! every input and was signed with the key the local endpoint issued, serve refreshes the chain
//! with AssumeRole alone, the AWS CLI sees the assumed role, bad inputs fail before any request,
//! and the cache keys on every chaining input.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::testbed::KeyKind;
use crate::support::*;

/// The role chained into: another account than the Roles Anywhere role's.
const TARGET: &str = "arn:aws:iam::210987654321:role/target";
const TARGET_ACCOUNT: &str = "210987654321";

/// GetCallerIdentity with `KEY`/`SECRET`/`TOKEN`, or (without them) with botocore's default
/// chain (IMDS, the container endpoint).
const CALLER_IDENTITY: &str = r#"
import json, os, botocore.session
session = botocore.session.Session()
keys = {}
if "KEY" in os.environ:
    keys = dict(aws_access_key_id=os.environ["KEY"], aws_secret_access_key=os.environ["SECRET"],
                aws_session_token=os.environ["TOKEN"])
client = session.create_client("sts", region_name="us-east-1", endpoint_url=os.environ["STS_URL"], **keys)
answer = client.get_caller_identity()
frozen = client._request_signer._credentials.get_frozen_credentials()
print(json.dumps({"account": answer["Account"], "arn": answer["Arn"], "access_key": frozen.access_key}))
"#;

struct Setup {
    pki: Pki,
    endpoint: LocalEndpoint,
    leaf: Leaf,
    moto: Moto,
    recording: PathBuf,
}

fn setup(moto_env: &[(&str, &str)]) -> Setup {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    // A common name with characters a role session name cannot have.
    let leaf = pki.leaf("edge device 7", KeyKind::EcP256);
    let recording = pki.path(&format!("moto-recording-{}.jsonl", next_unique()));
    let moto = Moto::recording(&recording, moto_env);
    Setup {
        pki,
        endpoint,
        leaf,
        moto,
        recording,
    }
}

impl Setup {
    fn helper(&self, command: &str) -> Helper {
        Helper::command(command)
            .endpoint(&self.endpoint)
            .leaf(&self.leaf)
            .args(["--sts-endpoint", self.moto.url.as_str()])
    }

    fn assume_role_calls(&self) -> Vec<RecordedRequest> {
        Moto::recorded(&self.recording, "AssumeRole")
    }

    fn caller_identity(&self, credentials: &serde_json::Value) -> serde_json::Value {
        let text = |name: &str| credentials[name].as_str().unwrap().to_string();
        botocore(
            &self.pki,
            CALLER_IDENTITY,
            &[
                ("STS_URL", &self.moto.url),
                ("KEY", &text("AccessKeyId")),
                ("SECRET", &text("SecretAccessKey")),
                ("TOKEN", &text("SessionToken")),
            ],
        )
    }
}

fn issued_keys(endpoint: &LocalEndpoint) -> Vec<String> {
    endpoint
        .records()
        .iter()
        .filter_map(|r| r["access_key_id"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn credential_process_hands_out_what_moto_issued_for_the_chained_role() {
    let s = setup(&[]);
    let output = s
        .helper("credential-process")
        .args([
            "--assume-role-arn",
            TARGET,
            "--external-id",
            "ext-42",
            "--session-tag",
            "team=edge ops",
            "--session-tag",
            "site=lab-1,cost=a=b",
            "--transitive-tag-key",
            "team",
            "--assume-role-duration",
            "1800",
        ])
        .output();
    let chained = parse_credential_process(&output);

    // Moto knows these keys as its own assumed-role session, in the target's account.
    let identity = s.caller_identity(&chained);
    assert_eq!(identity["account"], TARGET_ACCOUNT, "{identity}");
    assert_eq!(
        identity["arn"],
        format!("arn:aws:sts::{TARGET_ACCOUNT}:assumed-role/target/edge-device-7"),
        "the session name is the CN with its space made valid"
    );
    let left = time::OffsetDateTime::parse(
        chained["Expiration"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap()
        - time::OffsetDateTime::now_utc();
    assert!(
        left.whole_seconds() > 1700 && left.whole_seconds() <= 1800,
        "{left}"
    );

    // The AssumeRole request moto received: every input, signed with the issued key.
    let issued = issued_keys(&s.endpoint);
    assert_eq!(issued.len(), 1, "one CreateSession");
    assert_ne!(chained["AccessKeyId"], issued[0].as_str());
    let calls = s.assume_role_calls();
    assert_eq!(calls.len(), 1, "one AssumeRole");
    let call = &calls[0];
    for (name, value) in [
        ("Version", "2011-06-15"),
        ("RoleArn", TARGET),
        ("ExternalId", "ext-42"),
        ("RoleSessionName", "edge-device-7"),
        ("DurationSeconds", "1800"),
        ("Tags.member.1.Key", "team"),
        ("Tags.member.1.Value", "edge ops"),
        ("Tags.member.2.Key", "site"),
        ("Tags.member.2.Value", "lab-1"),
        ("Tags.member.3.Key", "cost"),
        ("Tags.member.3.Value", "a=b"),
        ("TransitiveTagKeys.member.1", "team"),
    ] {
        assert_eq!(call.param(name), Some(value), "{name}: {:?}", call.params);
    }
    assert_eq!(call.param("TransitiveTagKeys.member.2"), None);
    let authorization = call.header("Authorization").unwrap();
    assert!(
        authorization.starts_with(&format!("AWS4-HMAC-SHA256 Credential={}/", issued[0]))
            && authorization.contains("/us-east-1/sts/aws4_request"),
        "{authorization}"
    );
    assert!(
        call.header("X-Amz-Security-Token")
            .is_some_and(|t| !t.is_empty()),
        "signed with the session token"
    );
}

#[test]
fn bad_chaining_inputs_fail_before_any_request_and_sts_refusals_name_the_role() {
    let s = setup(&[]);
    let mut table = Table::new("chaining failures");
    let usage: &[(&str, &[&str], &str)] = &[
        (
            "duration over STS's one-hour cap",
            &[
                "--assume-role-arn",
                TARGET,
                "--assume-role-duration",
                "3601",
            ],
            "--assume-role-duration: 3601 is more than STS grants a chained session",
        ),
        (
            "session name with a space",
            &[
                "--assume-role-arn",
                TARGET,
                "--assume-role-session-name",
                "a b",
            ],
            "--assume-role-session-name: 'a b' is invalid",
        ),
        (
            "tag without a value",
            &["--assume-role-arn", TARGET, "--session-tag", "team"],
            "--session-tag: 'team' has no '='",
        ),
        (
            "tag with AWS's prefix",
            &["--assume-role-arn", TARGET, "--session-tag", "aws:x=1"],
            "--session-tag: 'aws:x=1': keys starting with aws:",
        ),
        (
            "transitive key that is no session tag",
            &[
                "--assume-role-arn",
                TARGET,
                "--session-tag",
                "team=edge",
                "--transitive-tag-key",
                "site",
            ],
            "--transitive-tag-key: 'site' is not the key of a --session-tag",
        ),
        (
            "external ID without a role",
            &["--external-id", "ext-42"],
            "--external-id: chains into a role: give --assume-role-arn too",
        ),
        (
            "role of another partition",
            &["--assume-role-arn", "arn:aws-cn:iam::210987654321:role/x"],
            "--assume-role-arn: partition 'aws-cn'",
        ),
    ];
    for (row, args, needle) in usage {
        table.row(row, || {
            let output = s.helper("credential-process").args(*args).output();
            assert_clean_failure(&output, 2, needle);
        });
    }
    table.row("nothing was sent for the usage errors", || {
        assert!(s.endpoint.records().is_empty(), "no CreateSession");
        assert!(s.assume_role_calls().is_empty(), "no AssumeRole");
    });
    // moto assumes any role, existing or not (its documentation says so), so an unknown role
    // is not refused there. With authentication on, moto refuses what real STS refuses for
    // credentials a local endpoint issued: it does not know the access key.
    let strict = Moto::start(&[("INITIAL_NO_AUTH_ACTION_COUNT", "0")]);
    for command in ["credential-process", "export"] {
        table.row(&format!("{command}: STS refuses the AssumeRole"), || {
            let output = Helper::command(command)
                .endpoint(&s.endpoint)
                .leaf(&s.leaf)
                .args(["--sts-endpoint", strict.url.as_str()])
                .args(["--assume-role-arn", TARGET])
                .output();
            assert_clean_failure(
                &output,
                4,
                &format!("sts:AssumeRole of {TARGET} was refused: HTTP 403 InvalidClientTokenId"),
            );
        });
    }
    table.assert_all_passed();
}

#[test]
fn the_cache_keys_on_every_chaining_input() {
    let s = setup(&[]);
    let cache_dir = s.pki.path(&format!("cache-{}", next_unique()));
    let run = |extra: &[&str]| {
        let output = s
            .helper("credential-process")
            .args(["--cache", "--cache-dir", cache_dir.to_str().unwrap()])
            .args(["--assume-role-arn", TARGET, "--session-tag", "team=edge"])
            .args(extra)
            .output();
        parse_credential_process(&output)["AccessKeyId"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let first = run(&["--external-id", "ext-1"]);
    assert_eq!(run(&["--external-id", "ext-1"]), first, "reused");
    assert_eq!(s.assume_role_calls().len(), 1);
    let other_id = run(&["--external-id", "ext-2"]);
    assert_ne!(other_id, first, "another external ID is another answer");
    assert_eq!(s.assume_role_calls().len(), 2);
    let other_tag = run(&["--external-id", "ext-1", "--session-tag", "site=lab"]);
    assert_ne!(other_tag, first, "another tag set is another answer");
    let calls = s.assume_role_calls();
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[2].param("Tags.member.2.Key"), Some("site"));
    // Without chaining, the Roles Anywhere credentials have a key of their own.
    let plain = Helper::command("credential-process")
        .endpoint(&s.endpoint)
        .leaf(&s.leaf)
        .args(["--cache", "--cache-dir", cache_dir.to_str().unwrap()])
        .output();
    let plain = parse_credential_process(&plain)["AccessKeyId"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(issued_keys(&s.endpoint).contains(&plain));
    assert_eq!(s.assume_role_calls().len(), 3);
}

#[test]
fn serve_hands_chained_credentials_to_botocore_and_refreshes_them_with_assume_role_alone() {
    let s = setup(&[]);
    let port = free_port();
    let token_file = s.pki.path(&format!("token-{}", next_unique()));
    let mut serve = s
        .helper("serve")
        .args(["--port", &port.to_string()])
        .arg("--container-token-file")
        .arg(&token_file)
        .args([
            "--assume-role-arn",
            TARGET,
            "--assume-role-duration",
            "900",
            "--session-tag",
            "team=edge",
        ])
        .envs(&[FAST_REFRESH])
        .limit(Duration::from_secs(120))
        .spawn();
    serve.wait_listening(port);
    // 0.3% of 900 s: a chain refresh every 2.7 s.
    wait_for("three AssumeRole calls", Duration::from_secs(60), || {
        s.assume_role_calls().len() >= 3
    });
    let issued = issued_keys(&s.endpoint);
    assert_eq!(
        issued.len(),
        1,
        "the chain is refreshed from the kept CreateSession credentials: {issued:?}"
    );
    for call in s.assume_role_calls() {
        assert!(
            call.header("Authorization")
                .unwrap()
                .contains(&format!("Credential={}/", issued[0]))
        );
    }
    let assumed = format!("arn:aws:sts::{TARGET_ACCOUNT}:assumed-role/target/edge-device-7");
    let base = format!("http://127.0.0.1:{port}/");
    let through_imds = botocore(
        &s.pki,
        CALLER_IDENTITY,
        &[
            ("STS_URL", &s.moto.url),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", &base),
        ],
    );
    assert_eq!(through_imds["arn"], assumed.as_str(), "{through_imds}");
    let full_uri = format!("http://127.0.0.1:{port}/v1/credentials");
    let through_container = botocore(
        &s.pki,
        CALLER_IDENTITY,
        &[
            ("STS_URL", &s.moto.url),
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", &full_uri),
            (
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                token_file.to_str().unwrap(),
            ),
        ],
    );
    assert_eq!(through_container["arn"], assumed.as_str());
    assert_ne!(through_imds["access_key"], issued[0].as_str());
    // Refreshed: a later client gets newer chained keys.
    let seen = s.assume_role_calls().len();
    wait_for("another AssumeRole", Duration::from_secs(30), || {
        s.assume_role_calls().len() > seen
    });
    std::thread::sleep(Duration::from_millis(500));
    let later = botocore(
        &s.pki,
        CALLER_IDENTITY,
        &[
            ("STS_URL", &s.moto.url),
            ("AWS_EC2_METADATA_SERVICE_ENDPOINT", &base),
        ],
    );
    assert_eq!(later["arn"], assumed.as_str());
    assert_ne!(later["access_key"], through_imds["access_key"], "refreshed");
    assert_eq!(issued_keys(&s.endpoint).len(), 1, "still one CreateSession");
    let status = serve.terminate();
    assert!(status.success(), "{status:?}: {}", serve.stderr());
}

/// The helper's command line as one `credential_process` value (split by botocore as a POSIX
/// shell would: each word single-quoted).
fn command_line(s: &Setup, extra: &[&str]) -> String {
    let mut words = vec![
        BIN.to_string(),
        "credential-process".into(),
        "--certificate".into(),
        s.leaf.cert.to_str().unwrap().into(),
        "--private-key".into(),
        s.leaf.key.to_str().unwrap().into(),
        "--trust-anchor-arn".into(),
        TRUST_ANCHOR_ARN.into(),
        "--profile-arn".into(),
        PROFILE_ARN.into(),
        "--role-arn".into(),
        ROLE_ARN.into(),
        "--endpoint".into(),
        s.endpoint.url.clone(),
    ];
    words.extend(extra.iter().map(|w| w.to_string()));
    words
        .iter()
        .map(|w| {
            assert!(!w.contains('\''), "{w}");
            format!("'{w}'")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn cli_identity(s: &Setup, config: &Path, extra_env: &[(&str, &str)]) -> serde_json::Value {
    let ca = s.endpoint.tls_ca.to_str().unwrap().to_string();
    let mut env = vec![
        ("AWS_CONFIG_FILE", config.to_str().unwrap()),
        ("AWS_CA_BUNDLE", ca.as_str()),
        ("AWS_DEFAULT_REGION", "us-east-1"),
    ];
    env.extend_from_slice(extra_env);
    let output = aws_cli(
        &[
            "sts",
            "get-caller-identity",
            "--endpoint-url",
            &s.moto.url,
            "--output",
            "json",
        ],
        &env,
    );
    assert!(output.status.success(), "aws: {}", stderr(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn the_aws_cli_sees_the_assumed_role_through_credential_process_update_and_source_profile() {
    let s = setup(&[]);
    let assumed = format!("arn:aws:sts::{TARGET_ACCOUNT}:assumed-role/target/edge-device-7");
    let config = s.pki.path(&format!("config-{}", next_unique()));
    let helper_chains = command_line(
        &s,
        &[
            "--assume-role-arn",
            TARGET,
            "--external-id",
            "ext-cli",
            "--sts-endpoint",
            &s.moto.url,
        ],
    );
    let roles_anywhere_only = command_line(&s, &[]);
    std::fs::write(
        &config,
        format!(
            "[profile chained]\ncredential_process = {helper_chains}\n\n\
             [profile ra]\ncredential_process = {roles_anywhere_only}\n\n\
             [profile sdk-chain]\nsource_profile = ra\nrole_arn = {TARGET}\nexternal_id = ext-sdk\nrole_session_name = sdk-session\nendpoint_url = {}\n",
            s.moto.url
        ),
    )
    .unwrap();
    let mut table = Table::new("AWS CLI");
    table.row("credential_process chaining in the helper", || {
        let identity = cli_identity(&s, &config, &[("AWS_PROFILE", "chained")]);
        assert_eq!(identity["Arn"], assumed.as_str(), "{identity}");
        let last = s.assume_role_calls().pop().unwrap();
        assert_eq!(last.param("ExternalId"), Some("ext-cli"));
    });
    table.row("source_profile chaining in the SDK", || {
        let identity = cli_identity(&s, &config, &[("AWS_PROFILE", "sdk-chain")]);
        assert_eq!(
            identity["Arn"],
            format!("arn:aws:sts::{TARGET_ACCOUNT}:assumed-role/target/sdk-session")
        );
        let last = s.assume_role_calls().pop().unwrap();
        assert_eq!(last.param("ExternalId"), Some("ext-sdk"));
        let issued = issued_keys(&s.endpoint);
        assert!(
            last.header("Authorization")
                .unwrap()
                .contains(&format!("Credential={}/", issued.last().unwrap()))
        );
    });
    table.row("the credentials file update writes", || {
        let credentials = s.pki.path(&format!("credentials-{}", next_unique()));
        let output = s
            .helper("update")
            .args(["--once", "--profile", "chained-file"])
            .args(["--assume-role-arn", TARGET])
            .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
            .output();
        assert!(output.status.success(), "{}", stderr(&output));
        let written = std::fs::read_to_string(&credentials).unwrap();
        let issued = issued_keys(&s.endpoint);
        assert!(
            !written.contains(issued.last().unwrap().as_str()),
            "the Roles Anywhere key is not written"
        );
        let identity = cli_identity(
            &s,
            &config,
            &[
                ("AWS_PROFILE", "chained-file"),
                ("AWS_SHARED_CREDENTIALS_FILE", credentials.to_str().unwrap()),
            ],
        );
        assert_eq!(identity["Arn"], assumed.as_str(), "{identity}");
    });
    table.assert_all_passed();
}

#[test]
fn a_config_profile_holds_the_chaining_settings() {
    let s = setup(&[]);
    let config = s.pki.path(&format!("config-{}", next_unique()));
    std::fs::write(
        &config,
        format!(
            "[profile edge]\nrolesanywhere_assume_role_arn = {TARGET}\nrolesanywhere_external_id = ext-profile\n\
             rolesanywhere_assume_role_session_name = from-profile\nrolesanywhere_session_tags = team=edge,site=lab\n\
             rolesanywhere_transitive_tag_keys = site\nrolesanywhere_assume_role_duration = 1200\n\
             rolesanywhere_sts_endpoint = {}\n",
            s.moto.url
        ),
    )
    .unwrap();
    let output = Helper::command("credential-process")
        .endpoint(&s.endpoint)
        .leaf(&s.leaf)
        .args(["--profile", "edge"])
        .env("AWS_CONFIG_FILE", &config)
        .output();
    let chained = parse_credential_process(&output);
    assert_eq!(
        s.caller_identity(&chained)["arn"],
        format!("arn:aws:sts::{TARGET_ACCOUNT}:assumed-role/target/from-profile")
    );
    let calls = s.assume_role_calls();
    assert_eq!(calls.len(), 1);
    for (name, value) in [
        ("ExternalId", "ext-profile"),
        ("DurationSeconds", "1200"),
        ("Tags.member.1.Key", "team"),
        ("Tags.member.2.Value", "lab"),
        ("TransitiveTagKeys.member.1", "site"),
    ] {
        assert_eq!(calls[0].param(name), Some(value), "{name}");
    }
}

#[test]
fn doctor_checks_the_chain_and_names_the_role_it_reaches() {
    let s = setup(&[]);
    let output = s
        .helper("doctor")
        .args([
            "--json",
            "--assume-role-arn",
            TARGET,
            "--external-id",
            "ext-doc",
        ])
        .output();
    let report: serde_json::Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("doctor printed JSON: {}", stderr(&output)));
    assert_eq!(output.status.code(), Some(0), "{report}");
    let check = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "assume role")
        .unwrap_or_else(|| panic!("no assume role check: {report}"));
    assert_eq!(check["status"], "pass", "{report}");
    assert!(
        check["detail"].as_str().unwrap().starts_with(&format!(
            "chained into arn:aws:sts::{TARGET_ACCOUNT}:assumed-role/target/edge-device-7 until "
        )),
        "{check}"
    );
    assert_eq!(
        s.assume_role_calls()[0].param("ExternalId"),
        Some("ext-doc")
    );
    // Refused: the check fails with STS's reason and the refusal's exit code.
    let strict = Moto::start(&[("INITIAL_NO_AUTH_ACTION_COUNT", "0")]);
    let output = Helper::command("doctor")
        .endpoint(&s.endpoint)
        .leaf(&s.leaf)
        .args([
            "--sts-endpoint",
            strict.url.as_str(),
            "--assume-role-arn",
            TARGET,
        ])
        .output();
    assert_eq!(output.status.code(), Some(4), "{}", stderr(&output));
}
