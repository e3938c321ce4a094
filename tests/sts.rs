//! STS with the credentials CreateSession returned, against moto as a real STS: doctor's identity
//! check names what GetCallerIdentity says, finds the endpoint from the flag or the environment,
//! and turns STS's refusals into one explained line and the refusal's exit code.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::testbed::KeyKind;
use crate::support::*;

/// doctor --json against `endpoint`, with `extra` arguments and environment.
fn doctor(
    endpoint: &LocalEndpoint,
    leaf: &Leaf,
    extra: &[&str],
    env: &[(&str, &str)],
) -> (i32, serde_json::Value) {
    let mut run = Helper::command("doctor")
        .endpoint(endpoint)
        .leaf(leaf)
        .arg("--json")
        .args(extra);
    for (k, v) in env {
        run = run.env(k, v);
    }
    let output = run.output();
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
        panic!(
            "doctor printed JSON: {}{}",
            String::from_utf8_lossy(&output.stdout),
            stderr(&output)
        )
    });
    (output.status.code().unwrap(), report)
}

fn check<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {report}"))
}

/// GetCallerIdentity through botocore, with the credentials `credential-process` got from the
/// same local endpoint.
const BOTOCORE_CALLER_IDENTITY: &str = r#"
import json, os, botocore.session
session = botocore.session.Session()
client = session.create_client("sts", region_name="us-east-1", endpoint_url=os.environ["STS_URL"],
    aws_access_key_id=os.environ["KEY"], aws_secret_access_key=os.environ["SECRET"],
    aws_session_token=os.environ["TOKEN"])
answer = client.get_caller_identity()
print(json.dumps({"account": answer["Account"], "arn": answer["Arn"], "user_id": answer["UserId"]}))
"#;

#[test]
fn doctor_names_the_identity_moto_reports_for_the_issued_credentials() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("sts-identity", KeyKind::EcP256);
    let moto = Moto::start(&[]);

    let (code, report) = doctor(&endpoint, &leaf, &["--sts-endpoint", &moto.url], &[]);
    assert_eq!(code, 0, "{report}");
    let identity = check(&report, "identity");
    assert_eq!(identity["status"], "pass", "{report}");

    // What moto says to a client of its own with credentials the same endpoint issued.
    let issued = Helper::command("credential-process")
        .endpoint(&endpoint)
        .leaf(&leaf)
        .output();
    assert!(issued.status.success(), "{}", stderr(&issued));
    let issued: serde_json::Value = serde_json::from_slice(&issued.stdout).unwrap();
    let text = |v: &serde_json::Value| v.as_str().unwrap().to_string();
    let expected = botocore(
        &pki,
        BOTOCORE_CALLER_IDENTITY,
        &[
            ("STS_URL", &moto.url),
            ("KEY", &text(&issued["AccessKeyId"])),
            ("SECRET", &text(&issued["SecretAccessKey"])),
            ("TOKEN", &text(&issued["SessionToken"])),
        ],
    );
    assert_eq!(identity["identity"], expected, "{report}");
    assert_eq!(expected["account"], MOTO_ACCOUNT);
    assert_eq!(
        identity["detail"],
        format!(
            "account {}, ARN {}, user id {}",
            text(&expected["account"]),
            text(&expected["arn"]),
            text(&expected["user_id"])
        )
    );
    // The request moto answered was doctor's: its log holds two POSTs, doctor's and botocore's.
    assert_eq!(
        moto.log().matches("\"POST / HTTP/1.1").count(),
        2,
        "{}",
        moto.log()
    );
    // No secret in the report.
    let printed = report.to_string();
    assert!(!printed.contains(&text(&issued["SecretAccessKey"])));
    assert!(!printed.contains(&text(&issued["SessionToken"])));
}

#[test]
fn the_sts_endpoint_comes_from_the_flag_else_the_environment() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("sts-endpoints", KeyKind::EcP256);
    let moto = Moto::shared();
    let nowhere = format!("http://127.0.0.1:{}", free_port());
    let mut table = Table::new("where the identity check goes");
    type Row<'a> = (&'a str, Vec<&'a str>, Vec<(&'a str, &'a str)>);
    let rows: Vec<Row> = vec![
        ("--sts-endpoint", vec!["--sts-endpoint", &moto.url], vec![]),
        (
            "AWS_ENDPOINT_URL_STS",
            vec![],
            vec![("AWS_ENDPOINT_URL_STS", &moto.url)],
        ),
        (
            "AWS_ENDPOINT_URL",
            vec![],
            vec![("AWS_ENDPOINT_URL", &moto.url)],
        ),
        (
            "AWS_ENDPOINT_URL_STS over AWS_ENDPOINT_URL",
            vec![],
            vec![
                ("AWS_ENDPOINT_URL_STS", &moto.url),
                ("AWS_ENDPOINT_URL", &nowhere),
            ],
        ),
        (
            "--sts-endpoint over AWS_ENDPOINT_URL_STS",
            vec!["--sts-endpoint", &moto.url],
            vec![("AWS_ENDPOINT_URL_STS", &nowhere)],
        ),
    ];
    for (name, args, env) in rows {
        table.row(name, || {
            let (code, report) = doctor(&endpoint, &leaf, &args, &env);
            assert_eq!(code, 0, "{report}");
            assert_eq!(
                check(&report, "identity")["identity"]["account"],
                MOTO_ACCOUNT,
                "{report}"
            );
        });
    }
    table.row("an STS endpoint that is down", || {
        let (code, report) = doctor(&endpoint, &leaf, &["--sts-endpoint", &nowhere], &[]);
        assert_eq!(code, 5, "{report}");
        let identity = check(&report, "identity");
        assert_eq!(identity["status"], "fail");
        assert!(
            identity["advice"]
                .as_str()
                .unwrap()
                .contains("--sts-endpoint"),
            "{report}"
        );
        assert!(
            identity["detail"].as_str().unwrap().contains(&nowhere),
            "{report}"
        );
    });
    table.row("an --sts-endpoint that is not a URL", || {
        let (code, report) = doctor(&endpoint, &leaf, &["--sts-endpoint", "ftp://x"], &[]);
        assert_eq!(code, 2, "{report}");
        assert!(
            check(&report, "identity")["detail"]
                .as_str()
                .unwrap()
                .starts_with("--sts-endpoint:"),
            "{report}"
        );
    });
    table.row("--no-create-session: no credentials, no STS call", || {
        let (code, report) = doctor(
            &endpoint,
            &leaf,
            &["--no-create-session", "--sts-endpoint", &nowhere],
            &[],
        );
        assert_eq!(code, 0, "{report}");
        let identity = check(&report, "identity");
        assert!(identity.get("identity").is_none(), "{report}");
        assert!(
            identity["detail"]
                .as_str()
                .unwrap()
                .contains("--no-create-session"),
            "{report}"
        );
    });
    table.assert_all_passed();
}

/// moto checking access keys (`INITIAL_NO_AUTH_ACTION_COUNT=0`) refuses the local endpoint's
/// keys, as real STS refuses keys it did not issue: doctor says so in one explained line and
/// exits with the refusal's code.
#[test]
fn an_sts_refusal_is_one_explained_line_with_the_refusal_exit_code() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("sts-refused", KeyKind::EcP256);
    let strict = Moto::start(&[("INITIAL_NO_AUTH_ACTION_COUNT", "0")]);
    let (code, report) = doctor(&endpoint, &leaf, &["--sts-endpoint", &strict.url], &[]);
    assert_eq!(code, 4, "{report}");
    let identity = check(&report, "identity");
    assert_eq!(identity["status"], "fail");
    assert_eq!(check(&report, "CreateSession")["status"], "pass");
    let detail = identity["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("sts:GetCallerIdentity was refused: HTTP 403 InvalidClientTokenId:"),
        "{detail}"
    );
    assert!(
        detail.contains("STS does not know this access key"),
        "{detail}"
    );

    // The text report: one line for the check, and the exit code.
    let output = Helper::command("doctor")
        .endpoint(&endpoint)
        .leaf(&leaf)
        .sts_endpoint(&strict)
        .output();
    assert_eq!(output.status.code(), Some(4));
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .find(|l| l.starts_with("✘ identity: "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("InvalidClientTokenId"), "{line}");
    assert!(text.ends_with("1 check(s) failed\n"), "{text}");
}

/// An STS that answers every request with `status` and `body`; counts the requests.
struct CannedSts {
    url: String,
    requests: Arc<AtomicUsize>,
}

impl CannedSts {
    fn start(status: u16, body: &'static str) -> CannedSts {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(AtomicUsize::new(0));
        let counted = requests.clone();
        // Ends with the test process; each connection is one request (Connection: close).
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = line.split_once(':')
                        && name.eq_ignore_ascii_case("content-length")
                    {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
                let mut request_body = vec![0; length];
                let _ = reader.read_exact(&mut request_body);
                counted.fetch_add(1, Ordering::SeqCst);
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} Refused\r\nContent-Type: text/xml\r\nx-amzn-RequestId: canned-1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        CannedSts { url, requests }
    }
}

const STS_ERRORS: &[(&str, u16, &str, &str)] = &[
    (
        "SignatureDoesNotMatch",
        403,
        "<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message></Error><RequestId>r</RequestId></ErrorResponse>",
        "changed the request",
    ),
    (
        "AccessDenied",
        403,
        "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>denied by a VPC endpoint policy</Message></Error><RequestId>r</RequestId></ErrorResponse>",
        "needs no IAM permission",
    ),
    (
        "ExpiredToken",
        400,
        "<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code><Message>The security token included in the request is expired</Message></Error><RequestId>r</RequestId></ErrorResponse>",
        "clock",
    ),
];

#[test]
fn each_sts_error_code_is_explained() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("sts-errors", KeyKind::EcP256);
    let mut table = Table::new("STS error codes");
    for (code_name, status, body, explained) in STS_ERRORS {
        table.row(code_name, || {
            let sts = CannedSts::start(*status, body);
            let (code, report) = doctor(&endpoint, &leaf, &["--sts-endpoint", &sts.url], &[]);
            assert_eq!(code, 4, "{report}");
            let detail = check(&report, "identity")["detail"]
                .as_str()
                .unwrap()
                .to_string();
            assert!(
                detail.starts_with(&format!(
                    "sts:GetCallerIdentity was refused: HTTP {status} {code_name}:"
                )),
                "{detail}"
            );
            assert!(detail.contains("(request id canned-1)"), "{detail}");
            assert!(detail.contains(explained), "{detail}");
            // A refusal is not retried.
            assert_eq!(sts.requests.load(Ordering::SeqCst), 1);
        });
    }
    table.assert_all_passed();
}
