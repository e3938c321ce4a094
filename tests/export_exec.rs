//! `export` in every format, parsed back (the env and ini outputs by botocore), and `exec`:
//! the command's environment, its exit code, and signals forwarded to it.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::testbed::KeyKind;
use crate::support::verifier::AnswerFault;
use crate::support::*;

fn export(endpoint: &LocalEndpoint, leaf: &Leaf, format: &str) -> String {
    // credential_process_args starts with the command name: swap it for export.
    let mut args = credential_process_args(Some(&endpoint.url), &strs(&leaf_args(leaf)));
    args[0] = "export".into();
    args.extend(["--format".into(), format.into()]);
    let output = helper(
        &strs(&args),
        &[("AWS_CA_BUNDLE", endpoint.tls_ca.to_str().unwrap())],
    );
    assert!(
        output.status.success(),
        "export {format}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn last_access_key(endpoint: &LocalEndpoint) -> String {
    endpoint.records().pop().unwrap()["access_key_id"]
        .as_str()
        .unwrap()
        .to_string()
}

const BOTOCORE_FROM_ENVIRONMENT: &str = r#"
import json, botocore.session
c = botocore.session.Session().get_credentials()
print(json.dumps({"method": c.method, "access_key": c.access_key, "token": c.token}))
"#;

#[test]
fn every_export_format_parses_back() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("leaf", KeyKind::EcP256);

    // env: a POSIX shell evaluates it, botocore reads the variables.
    let env_text = export(&endpoint, &leaf, "env");
    let issued = last_access_key(&endpoint);
    assert!(
        env_text.lines().all(|l| l.starts_with("export AWS_")),
        "{env_text}"
    );
    let script = pki.path("exported.sh");
    std::fs::write(&script, &env_text).unwrap();
    let python = python_with_botocore();
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!(
            ". {}; exec {} -c '{}'",
            script.display(),
            python.display(),
            BOTOCORE_FROM_ENVIRONMENT.replace('\'', "\"")
        ))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_CONFIG_FILE", pki.path("none"))
        .env("AWS_SHARED_CREDENTIALS_FILE", pki.path("none"))
        .env("AWS_EC2_METADATA_DISABLED", "true");
    let output = run_bounded(&mut command, Duration::from_secs(60));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let resolved: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(resolved["method"], "env");
    assert_eq!(resolved["access_key"], issued);

    // env-no-export: the same lines without `export`, for `set -a` and .env files.
    let plain = export(&endpoint, &leaf, "env-no-export");
    let issued = last_access_key(&endpoint);
    let plain_file = pki.path("exported.env");
    std::fs::write(&plain_file, &plain).unwrap();
    let mut command = Command::new("sh");
    command.arg("-c").arg(format!(
        "set -a; . {}; printf %s \"$AWS_ACCESS_KEY_ID\"",
        plain_file.display()
    ));
    let output = run_bounded(&mut command, Duration::from_secs(10));
    assert_eq!(String::from_utf8_lossy(&output.stdout), issued);

    // fish and PowerShell: one assignment per variable, values quoted as each shell reads them.
    let fish = export(&endpoint, &leaf, "fish");
    let issued = last_access_key(&endpoint);
    assert!(
        fish.contains(&format!("set -gx AWS_ACCESS_KEY_ID '{issued}'\n")),
        "{fish}"
    );
    assert_eq!(fish.lines().count(), 4);
    let powershell = export(&endpoint, &leaf, "powershell");
    let issued = last_access_key(&endpoint);
    assert!(
        // Verbatim (single-quoted) strings: PowerShell expands nothing in them.
        powershell.contains(&format!("$Env:AWS_ACCESS_KEY_ID='{issued}'\n")),
        "{powershell}"
    );
    assert!(powershell.contains("$Env:AWS_CREDENTIAL_EXPIRATION='"));
    assert_eq!(powershell.lines().count(), 4);

    // json: the credential_process document.
    let json = export(&endpoint, &leaf, "json");
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["Version"], 1);
    assert_eq!(doc["AccessKeyId"], last_access_key(&endpoint));

    // ini: botocore reads it as a shared credentials file.
    let mut args = credential_process_args(Some(&endpoint.url), &strs(&leaf_args(&leaf)));
    args[0] = "export".into();
    args.extend(["--format", "ini", "--ini-profile", "exported"].map(String::from));
    let ini = helper(
        &strs(&args),
        &[("AWS_CA_BUNDLE", endpoint.tls_ca.to_str().unwrap())],
    );
    let issued = last_access_key(&endpoint);
    let ini_file = pki.path("credentials");
    std::fs::write(&ini_file, &ini.stdout).unwrap();
    let mut command = Command::new(&python);
    command
        .args(["-c", "import json, botocore.session\nc = botocore.session.Session(profile='exported').get_credentials()\nprint(json.dumps({'method': c.method, 'access_key': c.access_key}))"])
        .env("AWS_SHARED_CREDENTIALS_FILE", &ini_file)
        .env("AWS_CONFIG_FILE", pki.path("none"))
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_PROFILE")
        .env("AWS_EC2_METADATA_DISABLED", "true");
    let output = run_bounded(&mut command, Duration::from_secs(60));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let resolved: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(resolved["method"], "shared-credentials-file");
    assert_eq!(resolved["access_key"], issued);
}

fn exec_args(endpoint: &LocalEndpoint, leaf: &Leaf, command: &[&str]) -> Vec<String> {
    let mut args = credential_process_args(Some(&endpoint.url), &strs(&leaf_args(leaf)));
    args[0] = "exec".into();
    args.push("--".into());
    args.extend(command.iter().map(|s| s.to_string()));
    args
}

#[test]
fn exec_runs_the_command_with_the_credentials_and_returns_its_exit_code() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("leaf", KeyKind::EcP256);
    let ca = endpoint.tls_ca.to_str().unwrap();

    let args = exec_args(
        &endpoint,
        &leaf,
        &[
            "sh",
            "-c",
            "printf '%s|%s|%s|%s|%s|%s|%s' \"$AWS_ACCESS_KEY_ID\" \"${#AWS_SECRET_ACCESS_KEY}\" \"${#AWS_SESSION_TOKEN}\" \"$AWS_CREDENTIAL_EXPIRATION\" \"$AWS_REGION\" \"$AWS_DEFAULT_REGION\" \"${AWS_PROFILE-unset}\"; exit 7",
        ],
    );
    let output = helper(
        &strs(&args),
        &[("AWS_CA_BUNDLE", ca), ("AWS_PROFILE", "something-else")],
    );
    assert_eq!(
        output.status.code(),
        Some(7),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let fields: Vec<&str> = text.split('|').collect();
    assert_eq!(fields[0], last_access_key(&endpoint));
    assert!(
        fields[1].parse::<usize>().unwrap() >= 40 && fields[2].parse::<usize>().unwrap() > 0,
        "{text}"
    );
    assert!(fields[3].ends_with('Z') && fields[3].len() == 20, "{text}");
    assert_eq!(&fields[4..], ["us-east-1", "us-east-1", "unset"]);

    let missing = exec_args(&endpoint, &leaf, &["/nonexistent/program"]);
    assert_clean_failure(
        &helper(&strs(&missing), &[("AWS_CA_BUNDLE", ca)]),
        2,
        "cannot run /nonexistent/program",
    );
}

#[test]
fn exec_forwards_signals_to_the_command() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("leaf", KeyKind::EcP256);
    let args = exec_args(
        &endpoint,
        &leaf,
        &[
            "sh",
            "-c",
            "trap 'exit 42' TERM; trap 'exit 43' INT; echo ready; while :; do sleep 0.02; done",
        ],
    );
    for (signal, expected) in [(libc::SIGTERM, 42), (libc::SIGINT, 43)] {
        let mut child = Command::new(BIN)
            .args(&args)
            .env("AWS_CA_BUNDLE", &endpoint.tls_ca)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready");
        // SAFETY: signalling the helper process this test started.
        unsafe { libc::kill(child.id() as libc::pid_t, signal) };
        let deadline = Instant::now() + Duration::from_secs(20);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("exec did not end after signal {signal}");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(
            status.code(),
            Some(expected),
            "signal {signal} reached the command"
        );
    }
}

/// The process ids whose parent is `parent` (from /proc), with their command names.
fn children_of(parent: u32) -> Vec<(u32, String)> {
    let mut children = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // `pid (comm) state ppid …`: the command name may hold spaces, so split after `)`.
        let Some((head, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let ppid = rest
            .split_whitespace()
            .nth(1)
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(parent) {
            let comm = head.split_once('(').map(|(_, c)| c).unwrap_or_default();
            children.push((pid, comm.to_string()));
        }
    }
    children
}

/// Waits (at most 20 s) for `child` to exit; kills it and fails the test after that.
fn wait_bounded(child: &mut std::process::Child, what: &str) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what}: the helper did not end within 20 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Sends `signal` to the process `pid` this test started.
fn send_signal(pid: u32, signal: libc::c_int) {
    // SAFETY: signalling a process this test started and has not reaped.
    let sent = unsafe { libc::kill(pid as libc::pid_t, signal) };
    assert_eq!(sent, 0, "kill({pid}, {signal})");
}

#[test]
fn exec_signals_reach_a_command_that_is_not_a_shell_and_exit_codes_follow_them() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("leaf", KeyKind::EcP256);
    let python = python_with_botocore();
    let python = python.to_str().unwrap();
    // Python reports its blocked-signal mask, then waits; its default SIGINT handling ends it
    // by SIGINT (after KeyboardInterrupt), SIGTERM's default kills it.
    let report_mask = "import sys, time\n\
        blocked = [l.split()[1] for l in open('/proc/self/status') if l.startswith('SigBlk:')][0]\n\
        print(blocked, flush=True)\n\
        time.sleep(30)\n";
    let mut table = Table::new("signals to exec's command");
    for (name, signal, expected) in [
        ("SIGTERM", libc::SIGTERM, 143),
        ("SIGINT", libc::SIGINT, 130),
    ] {
        table.row(&format!("{name} to a Python command"), || {
            let args = exec_args(&endpoint, &leaf, &[python, "-c", report_mask]);
            let mut child = Command::new(BIN)
                .args(&args)
                .env("AWS_CA_BUNDLE", &endpoint.tls_ca)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let mut line = String::new();
            BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            assert_eq!(
                line.trim(),
                "0000000000000000",
                "the command starts with no signal blocked"
            );
            send_signal(child.id(), signal);
            let status = wait_bounded(&mut child, name);
            assert_eq!(status.code(), Some(expected), "{name} reached the command");
        });
        table.row(&format!("{name} to sleep"), || {
            let args = exec_args(&endpoint, &leaf, &["sleep", "30"]);
            let mut child = Command::new(BIN)
                .args(&args)
                .env("AWS_CA_BUNDLE", &endpoint.tls_ca)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let helper = child.id();
            let started = Instant::now();
            while !children_of(helper).iter().any(|(_, comm)| comm == "sleep") {
                if let Some(status) = child.try_wait().unwrap() {
                    panic!("exec ended before running sleep: {status}");
                }
                assert!(
                    started.elapsed() < Duration::from_secs(20),
                    "sleep never started"
                );
                std::thread::sleep(Duration::from_millis(10));
            }
            send_signal(helper, signal);
            let status = wait_bounded(&mut child, name);
            assert_eq!(status.code(), Some(expected), "{name} reached sleep");
        });
    }
    table.row("a command that kills itself with SIGTERM", || {
        let args = exec_args(&endpoint, &leaf, &["sh", "-c", "kill -TERM $$; sleep 5"]);
        let output = helper(
            &strs(&args),
            &[("AWS_CA_BUNDLE", endpoint.tls_ca.to_str().unwrap())],
        );
        assert_eq!(output.status.code(), Some(143), "{}", stderr(&output));
    });
    table.assert_all_passed();
}

#[test]
fn exec_keeps_the_pin_and_the_container_token_from_the_command() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("leaf", KeyKind::EcP256);
    let args = exec_args(
        &endpoint,
        &leaf,
        &[
            "sh",
            "-c",
            r#"printf '%s|%s|%s' "${PKCS11_PIN-unset}" "${ROLESANYWHERE_HELPER_CONTAINER_TOKEN-unset}" "$UNRELATED""#,
        ],
    );
    let output = Helper::bare()
        .args(&args)
        .env("AWS_CA_BUNDLE", &endpoint.tls_ca)
        .env("PKCS11_PIN", "1234")
        .env(
            "ROLESANYWHERE_HELPER_CONTAINER_TOKEN",
            "a-token-of-serve-0123456789",
        )
        .env("UNRELATED", "passed on")
        .output();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "unset|unset|passed on"
    );
}

/// Runs `export --format <format>` against `endpoint`.
fn export_from(endpoint: &InProcessEndpoint, leaf: &Leaf, format: &str) -> std::process::Output {
    Helper::command("export")
        .endpoint(endpoint)
        .leaf(leaf)
        .args(["--format", format])
        .output()
}

/// Sources `script` in `shell` (in a private directory) and prints the three credential
/// variables, one per line; fails the test if the script ran a command (made `pwned`).
fn source_in(shell: &str, script: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("exported"), script).unwrap();
    let program = match shell {
        "fish" => {
            "source exported; printf '%s\\n' $AWS_ACCESS_KEY_ID $AWS_SECRET_ACCESS_KEY $AWS_SESSION_TOKEN"
        }
        _ => {
            ". ./exported; printf '%s\\n' \"$AWS_ACCESS_KEY_ID\" \"$AWS_SECRET_ACCESS_KEY\" \"$AWS_SESSION_TOKEN\""
        }
    };
    let mut command = Command::new(shell);
    if shell == "fish" {
        command.arg("--no-config");
    }
    command.args(["-c", program]).current_dir(dir.path());
    let output = run_bounded(&mut command, Duration::from_secs(30));
    assert!(
        output.status.success(),
        "{shell} (./scripts/test.sh installs it): {}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!dir.path().join("pwned").exists(), "{shell} ran a command");
    String::from_utf8(output.stdout).unwrap()
}

/// The values a real endpoint issues, every base64 character among them, read back as
/// themselves by the shell each format is for: dash and bash for env and env-no-export, fish.
#[test]
fn exported_values_read_back_in_dash_bash_and_fish() {
    let pki = Pki::new();
    let endpoint = InProcessEndpoint::start(&pki);
    let leaf = pki.leaf("shells", KeyKind::EcP256);
    let (id, secret, token) = (
        "ASIAEXPORT0000000001",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        "IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ+/=",
    );
    endpoint.set_answer_fault(AnswerFault::IssueCredentials {
        access_key_id: id.into(),
        secret_access_key: secret.into(),
        session_token: token.into(),
    });
    let expected = format!("{id}\n{secret}\n{token}\n");
    let mut table = Table::new("export sourced by its shell");
    for (format, shell) in [
        ("env", "dash"),
        ("env", "bash"),
        ("env-no-export", "dash"),
        ("env-no-export", "bash"),
        ("fish", "fish"),
    ] {
        let output = export_from(&endpoint, &leaf, format);
        table.row(&format!("{format} in {shell}"), || {
            assert!(output.status.success(), "{}", stderr(&output));
            assert_eq!(source_in(shell, &output.stdout), expected);
        });
    }
    table.assert_all_passed();
}

/// A hostile endpoint's values are refused before any format: every export format prints
/// nothing and fails with one line, and sourcing what it printed runs nothing.
#[test]
fn hostile_values_reach_no_export_format() {
    let pki = Pki::new();
    let endpoint = InProcessEndpoint::start(&pki);
    let leaf = pki.leaf("hostile-export", KeyKind::EcP256);
    let mut table = Table::new("export against a hostile endpoint");
    for (what, access_key_id, secret_access_key, session_token) in
        crate::credential_process::hostile_answers()
    {
        endpoint.set_answer_fault(AnswerFault::IssueCredentials {
            access_key_id,
            secret_access_key,
            session_token,
        });
        for (format, shell) in [
            ("env", Some("bash")),
            ("env-no-export", Some("dash")),
            ("fish", Some("fish")),
            ("powershell", None),
            ("ini", None),
            ("json", None),
        ] {
            let output = export_from(&endpoint, &leaf, format);
            table.row(&format!("{what}, --format {format}"), || {
                assert_eq!(output.status.code(), Some(5), "{}", stderr(&output));
                assert!(output.stdout.is_empty(), "printed {:?}", output.stdout);
                assert_eq!(stderr(&output).lines().count(), 1, "{}", stderr(&output));
                if let Some(shell) = shell {
                    assert_eq!(source_in(shell, &output.stdout).trim(), "");
                }
            });
        }
    }
    table.assert_all_passed();
}
