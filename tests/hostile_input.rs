//! What a user (or an attacker) may type: arguments that are not UTF-8 or hold control
//! characters, paths in any script, files that never end, values of absurd length. Each is
//! either used as given or refused with one clear line, nothing on stdout: never a panic (exit
//! 134), never a hang.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::time::Duration;

use crate::support::testbed::KeyKind;
use crate::support::*;

/// A Latin-1 file name: `café.pem` with `é` as the one byte 0xE9.
fn latin1_name() -> OsString {
    OsString::from_vec(b"caf\xe9.pem".to_vec())
}

/// Asserts the failure contract and that no byte of stderr is a carriage return (which would
/// let a value overwrite the line on a terminal).
fn assert_one_clean_line(output: &std::process::Output, code: i32, needle: &str) {
    assert_clean_failure(output, code, needle);
    assert!(
        !output.stderr.contains(&b'\r'),
        "a raw carriage return on stderr: {:?}",
        stderr(output)
    );
}

#[test]
fn a_non_utf8_argument_of_ours_is_one_clear_line_in_every_subcommand() {
    let mut table = Table::new("non-UTF-8 arguments");
    let subcommands = [
        "credential-process",
        "sign-string",
        "read-certificate-data",
        "export",
        "doctor",
        "serve",
        "update",
    ];
    for command in subcommands {
        table.row(&format!("{command} --certificate <Latin-1>"), || {
            let output = Helper::command(command)
                .arg("--certificate")
                .arg(latin1_name())
                .limit(Duration::from_secs(20))
                .output();
            assert_one_clean_line(
                &output,
                2,
                "--certificate: 'caf\\xe9.pem' is not valid UTF-8",
            );
        });
    }
    for command in ["credential-process", "exec", "export"] {
        table.row(&format!("{command} --role-arn=<bytes>"), || {
            let mut helper = Helper::command(command).arg(OsString::from_vec(
                b"--role-arn=arn:aws:iam::123456789012:role/\xff\xfe".to_vec(),
            ));
            if command == "exec" {
                helper = helper.args(["--", "true"]);
            }
            let output = helper.limit(Duration::from_secs(20)).output();
            assert_one_clean_line(
                &output,
                2,
                "--role-arn: 'arn:aws:iam::123456789012:role/\\xff\\xfe'",
            );
        });
    }
    table.row("a non-UTF-8 subcommand", || {
        let output = Helper::bare()
            .arg(OsString::from_vec(b"cr\xe9dentials".to_vec()))
            .limit(Duration::from_secs(20))
            .output();
        assert_one_clean_line(&output, 2, "unrecognized subcommand");
    });
    table.assert_all_passed();
}

#[test]
fn exec_passes_the_commands_arguments_byte_for_byte() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("leaf", KeyKind::EcP256);
    // Latin-1, an invalid sequence, a newline, and arguments that look like ours: all the
    // command's. `env:MARKER` after `--` names no input of ours, so MARKER stays in its
    // environment.
    let arguments: [&[u8]; 5] = [
        b"caf\xe9.pem",
        b"\xff\xfe\x80",
        b"two\nlines",
        b"--role-arn=\xe9",
        b"env:MARKER",
    ];
    let output = Helper::command("exec")
        .endpoint(&endpoint)
        .leaf(&leaf)
        .env("MARKER", "kept")
        .args([
            "--",
            "sh",
            "-c",
            r#"for a; do printf '%s|' "$a"; done; printf '%s' "$MARKER""#,
            "sh",
        ])
        .args(arguments.iter().map(|a| OsString::from_vec(a.to_vec())))
        .output();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let mut expected = Vec::new();
    for argument in arguments {
        expected.extend_from_slice(argument);
        expected.push(b'|');
    }
    expected.extend_from_slice(b"kept");
    assert_eq!(
        output.stdout.escape_ascii().to_string(),
        expected.escape_ascii().to_string()
    );
}

#[test]
fn certificate_and_key_paths_in_any_script_get_credentials() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("leaf", KeyKind::EcP256);
    // Multi-byte characters across byte 7, where the `pkcs11:` test once sliced the path.
    let cwd_cert = pki.path("certé.pem");
    let cwd_key = pki.path("keyé.pem");
    std::fs::copy(&leaf.cert, &cwd_cert).unwrap();
    std::fs::copy(&leaf.key, &cwd_key).unwrap();
    let tmp = tempfile::Builder::new()
        .prefix("日本")
        .tempdir_in("/tmp")
        .unwrap();
    assert!(
        tmp.path()
            .as_os_str()
            .as_bytes()
            .starts_with("/tmp/日本".as_bytes())
    );
    let tmp_cert = tmp.path().join("証明書.pem");
    let tmp_key = tmp.path().join("鍵.pem");
    std::fs::copy(&leaf.cert, &tmp_cert).unwrap();
    std::fs::copy(&leaf.key, &tmp_key).unwrap();

    let mut table = Table::new("Unicode paths");
    let cases: [(&str, OsString, OsString); 3] = [
        ("./certé.pem", "./certé.pem".into(), "./keyé.pem".into()),
        ("/tmp/日本…", tmp_cert.into(), tmp_key.into()),
        (
            "--certificate=./certé.pem",
            "./certé.pem".into(),
            tmp.path().join("鍵.pem").into(),
        ),
    ];
    for (name, cert, key) in cases {
        table.row(name, || {
            let output = Helper::command("credential-process")
                .endpoint(&endpoint)
                .key_pair(&cert, &key)
                .current_dir(pki.dir.path())
                .output();
            parse_credential_process(&output);
        });
    }
    table.row("a missing Unicode path is named as given", || {
        let output = Helper::command("credential-process")
            .endpoint(&endpoint)
            .key_pair("./nié.pem", "/tmp/日本-missing.pem")
            .current_dir(pki.dir.path())
            .output();
        assert_one_clean_line(&output, 3, "--certificate ./nié.pem: no such file");
    });
    table.assert_all_passed();
}

#[test]
fn control_characters_in_what_the_user_typed_never_split_the_error_line() {
    let pki = Pki::new();
    let leaf = pki.leaf("leaf", KeyKind::EcP256);
    let config = pki.path("config");
    std::fs::write(
        &config,
        "[profile edge]\nrolesanywhere_region = us-east-1\n",
    )
    .unwrap();
    // Nothing listens here: each case must fail before any network call.
    let nowhere = "https://127.0.0.1:9";
    let valid_ta = TRUST_ANCHOR_ARN;
    let mut table = Table::new("control characters in inputs");
    for (what, injected) in [
        ("newline", "\n"),
        ("carriage return", "\r"),
        ("escape", "\x1b[2K"),
    ] {
        let evil = |prefix: &str| format!("{prefix}{injected}spoofed");
        let cases: Vec<(String, Helper, i32, String)> = vec![
            (
                "--role-arn".into(),
                Helper::command("credential-process")
                    .leaf(&leaf)
                    .args(["--trust-anchor-arn", valid_ta, "--profile-arn", PROFILE_ARN])
                    .args(["--role-arn", &evil("arn:aws:iam::123456789012:role/x")])
                    .args(["--endpoint", nowhere]),
                2,
                "--role-arn:".into(),
            ),
            (
                "--trust-anchor-arn".into(),
                Helper::command("credential-process")
                    .leaf(&leaf)
                    .args(["--trust-anchor-arn", &evil("arn:aws:rolesanywhere")])
                    .args(["--profile-arn", PROFILE_ARN, "--role-arn", ROLE_ARN])
                    .args(["--endpoint", nowhere]),
                2,
                "--trust-anchor-arn:".into(),
            ),
            (
                "--role-session-name".into(),
                Helper::command("credential-process")
                    .leaf(&leaf)
                    .arns()
                    .args(["--role-session-name", &evil("host")])
                    .args(["--endpoint", nowhere]),
                2,
                "--role-session-name:".into(),
            ),
            (
                "--region".into(),
                Helper::command("credential-process")
                    .leaf(&leaf)
                    .arns()
                    .args(["--region", &evil("us-east-1")])
                    .args(["--endpoint", nowhere]),
                2,
                "--region:".into(),
            ),
            (
                "--endpoint".into(),
                Helper::command("credential-process")
                    .leaf(&leaf)
                    .arns()
                    .args(["--endpoint", &evil("ftp://host")]),
                2,
                "--endpoint:".into(),
            ),
            (
                "--session-duration (a clap error)".into(),
                Helper::command("credential-process")
                    .leaf(&leaf)
                    .arns()
                    .args(["--session-duration", &evil("3600")]),
                2,
                "--session-duration".into(),
            ),
            (
                "update --profile".into(),
                Helper::command("update")
                    .leaf(&leaf)
                    .arns()
                    .args(["--endpoint", nowhere, "--once"])
                    .args(["--profile", &evil("edge")])
                    .env("AWS_SHARED_CREDENTIALS_FILE", pki.path("credentials")),
                2,
                "--profile:".into(),
            ),
            (
                "export --ini-profile".into(),
                Helper::command("export")
                    .leaf(&leaf)
                    .arns()
                    .args(["--endpoint", nowhere, "--format", "ini"])
                    .args(["--ini-profile", &format!("edge]{injected}[evil")]),
                2,
                "--ini-profile:".into(),
            ),
            (
                "--certificate path".into(),
                Helper::command("credential-process")
                    .key_pair(pki.path(&evil("missing")), &leaf.key)
                    .arns()
                    .args(["--endpoint", nowhere]),
                3,
                "no such file".into(),
            ),
            (
                "--profile of the config file".into(),
                Helper::command("credential-process")
                    .args(["--profile", &evil("edge")])
                    .env("AWS_CONFIG_FILE", &config),
                2,
                "--profile:".into(),
            ),
        ];
        for (flag, helper, code, needle) in cases {
            table.row(&format!("{what} in {flag}"), || {
                let output = helper.limit(Duration::from_secs(30)).output();
                assert_one_clean_line(&output, code, &needle);
                assert!(
                    !output.stderr.contains(&0x1b),
                    "a raw escape on stderr: {:?}",
                    stderr(&output)
                );
            });
        }
    }
    table.assert_all_passed();
}

#[test]
fn an_ini_profile_that_would_break_the_section_structure_is_refused() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("leaf", KeyKind::EcP256);
    let mut table = Table::new("--ini-profile");
    for bad in [
        "]\n[evil",
        "a[b",
        "a]b",
        " padded",
        "padded ",
        "",
        "tab\there",
    ] {
        table.row(&format!("{bad:?}"), || {
            let output = Helper::command("export")
                .endpoint(&endpoint)
                .leaf(&leaf)
                .args(["--format", "ini", "--ini-profile", bad])
                .output();
            assert_one_clean_line(&output, 2, "--ini-profile:");
        });
    }
    table.row("a name with a space is a section name", || {
        let output = Helper::command("export")
            .endpoint(&endpoint)
            .leaf(&leaf)
            .args(["--format", "ini", "--ini-profile", "ci runner"])
            .output();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        assert!(String::from_utf8_lossy(&output.stdout).starts_with("[ci runner]\n"));
    });
    table.assert_all_passed();
    assert!(
        endpoint.records().len() == 1,
        "only the valid name reached the endpoint"
    );
}

#[test]
fn inputs_that_never_end_or_are_huge_fail_fast_with_one_line_in_bounded_memory() {
    let pki = Pki::new();
    let leaf = pki.leaf("leaf", KeyKind::EcP256);
    let fifo = pki.path("certificate.fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo");
    // 5 MiB of PEM: well-formed text, over the 4 MiB bound.
    let huge = pki.path("huge.pem");
    let block = std::fs::read_to_string(&leaf.cert).unwrap();
    std::fs::write(&huge, block.repeat(5 * 1024 * 1024 / block.len() + 1)).unwrap();
    let config = pki.path("config");
    std::fs::write(
        &config,
        "[profile edge]\nrolesanywhere_region = us-east-1\n",
    )
    .unwrap();
    // Nothing listens here: each case must fail before any network call.
    let nowhere = "https://127.0.0.1:9";
    // The helper runs with its data segment capped at 256 MiB: reading /dev/zero to the end
    // could not fit, so the bound is the helper's, not the machine's memory.
    let bounded = |helper: Helper| {
        helper
            .arns()
            .args(["--endpoint", nowhere])
            .wrapped_in("sh", &["-c", "ulimit -d 262144 && exec \"$0\" \"$@\""])
            .limit(Duration::from_secs(30))
    };
    let too_large = "holds more than 4 MiB";
    let cases: Vec<(&str, Helper, &str)> = vec![
        (
            "--certificate /dev/zero",
            bounded(Helper::command("credential-process").key_pair("/dev/zero", &leaf.key)),
            too_large,
        ),
        (
            "--private-key /dev/zero",
            bounded(Helper::command("credential-process").key_pair(&leaf.cert, "/dev/zero")),
            too_large,
        ),
        (
            "--intermediates /dev/zero",
            bounded(
                Helper::command("credential-process")
                    .leaf(&leaf)
                    .args(["--intermediates", "/dev/zero"]),
            ),
            too_large,
        ),
        (
            "a 5 MiB --certificate",
            bounded(Helper::command("credential-process").key_pair(&huge, &leaf.key)),
            too_large,
        ),
        (
            "a FIFO nobody writes to as --certificate",
            bounded(Helper::command("credential-process").key_pair(&fifo, &leaf.key)),
            "is not a regular file and delivered no end within 10 s",
        ),
        (
            "AWS_CA_BUNDLE=/dev/zero",
            bounded(
                Helper::command("credential-process")
                    .leaf(&leaf)
                    .env("AWS_CA_BUNDLE", "/dev/zero"),
            ),
            too_large,
        ),
        (
            "sign-string --private-key /dev/zero",
            Helper::command("sign-string")
                .key_pair(&leaf.cert, "/dev/zero")
                .wrapped_in("sh", &["-c", "ulimit -d 262144 && exec \"$0\" \"$@\""])
                .limit(Duration::from_secs(30)),
            too_large,
        ),
    ];
    let mut table = Table::new("unbounded inputs");
    for (name, helper, needle) in cases {
        table.row(name, || {
            assert_one_clean_line(&helper.output(), 3, needle);
        });
    }
    table.row("AWS_CONFIG_FILE=/dev/zero with --profile", || {
        let output = Helper::command("credential-process")
            .args(["--profile", "edge"])
            .env("AWS_CONFIG_FILE", "/dev/zero")
            .wrapped_in("sh", &["-c", "ulimit -d 262144 && exec \"$0\" \"$@\""])
            .limit(Duration::from_secs(30))
            .output();
        assert_one_clean_line(
            &output,
            3,
            "AWS_CONFIG_FILE /dev/zero: holds more than 4 MiB",
        );
    });
    table.assert_all_passed();
}

#[test]
fn absurd_lengths_other_partitions_and_unreadable_endpoint_urls_are_usage_errors_at_once() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("leaf", KeyKind::EcP256);
    let long_arn = format!("{ROLE_ARN}{}", "x".repeat(100_000));
    let long_anchor = format!("{TRUST_ANCHOR_ARN}{}", "x".repeat(100_000));
    let long_endpoint = format!("https://{}.example", "a".repeat(70_000));
    let cn = |arn: &str| arn.replacen("arn:aws:", "arn:aws-cn:", 1);
    let cases: Vec<(&str, Helper, String)> = vec![
        (
            "a 100,000-character --role-arn",
            Helper::command("credential-process")
                .endpoint(&endpoint)
                .leaf(&leaf)
                .args(["--role-arn", &long_arn]),
            format!("--role-arn: is {} characters long; an ARN has at most 2048", long_arn.len()),
        ),
        (
            "a 100,000-character --trust-anchor-arn",
            Helper::command("credential-process")
                .endpoint(&endpoint)
                .leaf(&leaf)
                .args([
                    "--trust-anchor-arn",
                    &format!("{TRUST_ANCHOR_ARN}{}", "x".repeat(100_000)),
                ]),
            format!("--trust-anchor-arn: is {} characters long", long_anchor.len()),
        ),
        (
            "a 70,000-character --endpoint",
            Helper::command("credential-process")
                .endpoint(&endpoint)
                .leaf(&leaf)
                .args(["--endpoint", &long_endpoint]),
            format!("--endpoint: is {} characters long; an endpoint URL has at most 2048", long_endpoint.len()),
        ),
        (
            "an aws-cn trust anchor in a commercial region",
            Helper::command("credential-process")
                .leaf(&leaf)
                .args(["--trust-anchor-arn", &cn(TRUST_ANCHOR_ARN)])
                .args([
                    "--profile-arn",
                    &cn(PROFILE_ARN),
                    "--role-arn",
                    &cn(ROLE_ARN),
                ]),
            "--trust-anchor-arn: region us-east-1 is in partition 'aws' but the ARNs are in 'aws-cn'".into(),
        ),
        (
            "a China endpoint for a commercial region",
            Helper::command("credential-process")
                .leaf(&leaf)
                .arns()
                .args([
                    "--endpoint",
                    "https://rolesanywhere.cn-north-1.amazonaws.com.cn",
                ]),
            "--endpoint: rolesanywhere.cn-north-1.amazonaws.com.cn is an endpoint of partition 'aws-cn'".into(),
        ),
        (
            "a non-UTF-8 AWS_ENDPOINT_URL_ROLESANYWHERE",
            Helper::command("credential-process")
                .leaf(&leaf)
                .arns()
                .env(
                    "AWS_ENDPOINT_URL_ROLESANYWHERE",
                    OsString::from_vec(b"https://caf\xe9.example".to_vec()),
                ),
            "AWS_ENDPOINT_URL_ROLESANYWHERE: is not valid UTF-8".into(),
        ),
    ];
    let mut table = Table::new("usage errors found before any request");
    for (name, helper, needle) in cases {
        table.row(name, || {
            let output = helper.limit(Duration::from_secs(30)).output();
            assert_one_clean_line(&output, 2, &needle);
            assert!(
                output.stderr.len() < 500,
                "the value is not echoed: {} bytes",
                output.stderr.len()
            );
        });
    }
    table.assert_all_passed();
    assert!(
        endpoint.records().is_empty(),
        "no request reached the endpoint"
    );
}

#[test]
fn secrets_given_as_flags_are_warned_of_by_name_never_shown() {
    let pki = Pki::new();
    let leaf = pki.leaf("leaf", KeyKind::EcP256);
    let secret = "hunter2-s3cr3t";
    let mut table = Table::new("secrets on the command line");
    for flag in [
        "--pkcs8-password",
        "--pkcs12-password",
        "--tpm-key-password",
    ] {
        for form in ["separate", "joined"] {
            table.row(&format!("{flag} ({form})"), || {
                let helper = Helper::command("sign-string").leaf(&leaf);
                let helper = if form == "joined" {
                    helper.arg(format!("{flag}={secret}"))
                } else {
                    helper.args([flag, secret])
                };
                let output = helper.output();
                assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
                let text = stderr(&output);
                assert!(text.contains(&format!("{flag} is on the command line, where every user of this machine can read it")), "{text}");
                assert!(text.contains("asked on the terminal"), "{text}");
                assert!(!text.contains(secret), "the secret itself is shown: {text}");
                assert_eq!(text.matches("on the command line").count(), 1, "warned once: {text}");
            });
        }
    }
    table.row("pin-value in a pkcs11: URI", || {
        let token = Token::new();
        let key_uri = format!(
            "pkcs11:token={};object=ec384;type=private?pin-value={PIN}&module-path={}",
            token.label, token.module
        );
        let output = token
            .command("sign-string")
            .args([
                "--certificate",
                &token.path("ec384.crt.pem").to_string_lossy(),
            ])
            .arg(format!("--private-key={key_uri}"))
            .output();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let text = stderr(&output);
        assert!(
            text.contains("the pin-value of a pkcs11: URI is on the command line"),
            "{text}"
        );
        assert!(
            text.contains("pin-source=FILE") && text.contains("PKCS11_PIN"),
            "{text}"
        );
        assert!(
            !text.contains(&format!("pin-value={PIN}")),
            "the PIN itself is shown: {text}"
        );
    });
    table.row(
        "a failure stays one line: the warning comes only after success",
        || {
            let output = Helper::command("sign-string")
                .key_pair(&leaf.cert, pki.path("missing.key"))
                .args(["--pkcs8-password", secret])
                .output();
            assert_one_clean_line(&output, 3, "no such file");
        },
    );
    table.row("no warning without a secret on the command line", || {
        let output = Helper::command("sign-string")
            .leaf(&leaf)
            .env("PKCS11_PIN", secret)
            .output();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        assert!(
            !stderr(&output).contains("on the command line"),
            "{}",
            stderr(&output)
        );
    });
    table.assert_all_passed();
}
