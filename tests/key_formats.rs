//! Every key a user really has: encrypted PKCS#8 (PBES2 with PBKDF2 or scrypt), PKCS#12 bundles
//! in the modern and legacy forms, and certificates and keys passed through the environment or
//! standard input. Each end to end against the local endpoint, each bad case a clean failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::testbed::KeyKind;
use crate::support::*;

/// Runs the helper in a new session (`setsid`), so it has no terminal to prompt on.
fn helper_without_terminal(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new("setsid");
    command.arg("--wait").arg(BIN).args(args);
    for (k, v) in env {
        command.env(k, v);
    }
    run_bounded(&mut command, Duration::from_secs(30))
}

fn encrypt(pki: &Pki, key: &Path, name: &str, options: &[&str]) -> PathBuf {
    let out = pki.path(name);
    let mut args = vec!["pkcs8", "-topk8", "-passout", "pass:s3cret pass"];
    args.extend_from_slice(options);
    args.push("-in");
    openssl(&args, &[key, Path::new("-out"), &out]);
    out
}

#[test]
fn encrypted_pkcs8_keys_decrypt_with_the_password() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("leaf", KeyKind::EcP256);
    let rsa = pki.leaf("rsa", KeyKind::Rsa(2048));
    let cases: Vec<(&Leaf, &str, Vec<&str>)> = vec![
        (&leaf, "aes256-sha256.pem", vec!["-v2", "aes-256-cbc"]),
        (
            &leaf,
            "aes128-sha1.pem",
            vec!["-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA1"],
        ),
        (
            &leaf,
            "aes192-sha384.pem",
            vec!["-v2", "aes-192-cbc", "-v2prf", "hmacWithSHA384"],
        ),
        (
            &rsa,
            "aes256-sha512.pem",
            vec!["-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA512"],
        ),
        (&leaf, "scrypt.pem", vec!["-scrypt"]),
        (
            &rsa,
            "aes256.der",
            vec!["-v2", "aes-256-cbc", "-outform", "DER"],
        ),
    ];
    for (leaf, name, options) in cases {
        let encrypted = encrypt(&pki, &leaf.key, name, &options);
        let args = [
            "--certificate",
            leaf.cert.to_str().unwrap(),
            "--private-key",
            encrypted.to_str().unwrap(),
            "--pkcs8-password",
            "s3cret pass",
        ];
        let doc = parse_credential_process(&endpoint.credential_process(&args, &[]));
        assert_eq!(
            doc["AccessKeyId"],
            endpoint.records().pop().unwrap()["access_key_id"],
            "{name}"
        );
    }

    // Wrong password, no password without a terminal, unsupported schemes: clean failures.
    let encrypted = encrypt(&pki, &leaf.key, "wrong.pem", &["-v2", "aes-256-cbc"]);
    let files = [
        "--certificate",
        leaf.cert.to_str().unwrap(),
        "--private-key",
        encrypted.to_str().unwrap(),
    ];
    let wrong = endpoint.credential_process(&files, &["--pkcs8-password", "nope"]);
    assert_clean_failure(&wrong, 3, "wrong password");
    let args = credential_process_args(Some(&endpoint.url), &files);
    let no_terminal = helper_without_terminal(
        &strs(&args),
        &[("AWS_CA_BUNDLE", endpoint.tls_ca.to_str().unwrap())],
    );
    assert_clean_failure(&no_terminal, 3, "no terminal");
    assert!(String::from_utf8_lossy(&no_terminal.stderr).contains("--pkcs8-password"));
    for (name, options, scheme) in [
        ("pbes1.pem", vec!["-v1", "PBE-SHA1-3DES"], "PKCS#12 PBE"),
        ("des3.pem", vec!["-v2", "des3"], "3DES"),
    ] {
        let encrypted = encrypt(&pki, &leaf.key, name, &options);
        let files = [
            "--certificate",
            leaf.cert.to_str().unwrap(),
            "--private-key",
            encrypted.to_str().unwrap(),
        ];
        let output = endpoint.credential_process(&files, &["--pkcs8-password", "s3cret pass"]);
        assert_clean_failure(&output, 3, scheme);
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("not supported"),
            "{name}"
        );
    }
}

pub(crate) fn export_pkcs12(
    pki: &Pki,
    leaf: &Leaf,
    chain: Option<&Path>,
    name: &str,
    password: &str,
    legacy: bool,
) -> PathBuf {
    let out = pki.path(name);
    let mut command = Command::new("openssl");
    command
        .args([
            "pkcs12",
            "-export",
            "-passout",
            &format!("pass:{password}"),
            "-inkey",
        ])
        .arg(&leaf.key)
        .arg("-in")
        .arg(&leaf.cert);
    if let Some(chain) = chain {
        command.arg("-certfile").arg(chain);
    }
    if legacy {
        command.arg("-legacy");
    }
    command.arg("-out").arg(&out);
    let output = run_bounded(&mut command, Duration::from_secs(30));
    assert!(
        output.status.success(),
        "openssl pkcs12: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    out
}

#[test]
fn pkcs12_bundles_modern_and_legacy_with_and_without_password() {
    let pki = Pki::new();
    let intermediate = pki.root.intermediate("P12 Intermediate CA").unwrap();
    let leaf = pki.leaf_from(
        &intermediate,
        "p12leaf",
        KeyKind::EcP256,
        &crate::support::testbed::CertSpec::leaf("p12leaf"),
    );
    let chain = pki.path("p12-chain.pem");
    std::fs::write(&chain, intermediate.cert_pem()).unwrap();
    let rsa = pki.leaf("p12rsa", KeyKind::Rsa(2048));
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);

    for (name, leaf, chain, password, legacy) in [
        (
            "modern.p12",
            &leaf,
            Some(chain.as_path()),
            "p12 pass",
            false,
        ),
        ("legacy.pfx", &leaf, Some(chain.as_path()), "p12 pass", true),
        ("empty.p12", &rsa, None, "", false),
    ] {
        let bundle = export_pkcs12(&pki, leaf, chain, name, password, legacy);
        let mut args = vec!["--certificate", bundle.to_str().unwrap()];
        if !password.is_empty() {
            args.extend(["--pkcs12-password", password]);
        }
        let doc = parse_credential_process(&endpoint.credential_process(&args, &[]));
        let record = endpoint.records().pop().unwrap();
        assert_eq!(doc["AccessKeyId"], record["access_key_id"], "{name}");
        let expected_chain = usize::from(chain.is_some());
        assert_eq!(
            record["chain_subjects"].as_array().unwrap().len(),
            expected_chain,
            "{name}: {record}"
        );
    }

    let bundle = export_pkcs12(&pki, &leaf, Some(&chain), "wrong.p12", "right", false);
    let output = endpoint.credential_process(
        &[
            "--certificate",
            bundle.to_str().unwrap(),
            "--pkcs12-password",
            "wrong",
        ],
        &[],
    );
    assert_clean_failure(&output, 3, "wrong PKCS#12 password");
    let args = credential_process_args(
        Some(&endpoint.url),
        &["--certificate", bundle.to_str().unwrap()],
    );
    let no_terminal = helper_without_terminal(
        &strs(&args),
        &[("AWS_CA_BUNDLE", endpoint.tls_ca.to_str().unwrap())],
    );
    assert_clean_failure(&no_terminal, 3, "--pkcs12-password");
}

#[test]
fn certificate_and_key_from_the_environment_or_standard_input() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("leaf", KeyKind::EcP256);
    let cert_pem = std::fs::read_to_string(&leaf.cert).unwrap();
    let key_pem = std::fs::read_to_string(&leaf.key).unwrap();
    let ca = endpoint.tls_ca.to_str().unwrap();

    // PEM in variables.
    let args = credential_process_args(
        Some(&endpoint.url),
        &[
            "--certificate",
            "env:RA_CERT",
            "--private-key",
            "env:RA_KEY",
        ],
    );
    let output = helper(
        &strs(&args),
        &[
            ("RA_CERT", &cert_pem),
            ("RA_KEY", &key_pem),
            ("AWS_CA_BUNDLE", ca),
        ],
    );
    parse_credential_process(&output);

    // Base64 DER in variables, as CI secret stores often hold them.
    use base64::Engine as _;
    let b64 = |der: Vec<u8>| base64::engine::general_purpose::STANDARD.encode(der);
    let cert_der = pem::parse(&cert_pem).unwrap().into_contents();
    let key_der = pem::parse(&key_pem).unwrap().into_contents();
    let output = helper(
        &strs(&args),
        &[
            ("RA_CERT", &b64(cert_der)),
            ("RA_KEY", &b64(key_der)),
            ("AWS_CA_BUNDLE", ca),
        ],
    );
    parse_credential_process(&output);

    // Certificate and key together on standard input.
    let args = credential_process_args(Some(&endpoint.url), &["--certificate", "-"]);
    let mut child = Command::new(BIN)
        .args(&args)
        .env("AWS_CA_BUNDLE", ca)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin
            .write_all(format!("{cert_pem}{key_pem}").as_bytes())
            .unwrap();
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        assert!(
            std::time::Instant::now() < deadline,
            "credential-process on stdin did not finish"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    parse_credential_process(&child.wait_with_output().unwrap());

    // A variable that is not set, or empty: clean failures naming it.
    let args = credential_process_args(
        Some(&endpoint.url),
        &[
            "--certificate",
            "env:RA_MISSING",
            "--private-key",
            "env:RA_KEY",
        ],
    );
    assert_clean_failure(
        &helper(&strs(&args), &[("RA_KEY", &key_pem)]),
        3,
        "RA_MISSING is not set",
    );
    assert_clean_failure(
        &helper(&strs(&args), &[("RA_MISSING", ""), ("RA_KEY", &key_pem)]),
        3,
        "empty",
    );
}

/// Runs the helper on a pseudo-terminal (Python's pty module) and types `answers` at each
/// password prompt; returns the exit code and everything the terminal showed.
fn helper_on_terminal(args: &[String], env: &[(&str, &str)], answers: &[&str]) -> (i32, String) {
    const DRIVER: &str = r#"
import os, pty, sys, json, time, termios
answers = json.loads(sys.argv[1]); argv = sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execv(argv[0], argv)
seen, answered, deadline = b"", 0, time.time() + 30
while time.time() < deadline:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    seen += chunk
    # Answer each prompt once, after the helper has turned the terminal's echo off (the pty
    # master reports the terminal's settings), as a person typing after the prompt would.
    if seen.count(b"Password for") > answered and answers:
        while termios.tcgetattr(fd)[3] & termios.ECHO and time.time() < deadline:
            time.sleep(0.001)
        answered += 1
        os.write(fd, answers.pop(0).encode() + b"\n")
_, status = os.waitpid(pid, 0)
sys.stdout.write(json.dumps({"code": os.waitstatus_to_exitcode(status), "seen": seen.decode(errors="replace")}))
"#;
    let mut command = Command::new("python3");
    command
        .arg("-c")
        .arg(DRIVER)
        .arg(serde_json::to_string(answers).unwrap())
        .arg(BIN)
        .args(args);
    for (k, v) in env {
        command.env(k, v);
    }
    let output = run_bounded(&mut command, Duration::from_secs(40));
    assert!(
        output.status.success(),
        "pty driver: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let result: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    (
        result["code"].as_i64().unwrap() as i32,
        result["seen"].as_str().unwrap().to_string(),
    )
}

#[test]
fn the_terminal_prompt_takes_the_password_and_allows_three_tries() {
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let leaf = pki.leaf("leaf", KeyKind::EcP256);
    let encrypted = encrypt(&pki, &leaf.key, "prompted.pem", &["-v2", "aes-256-cbc"]);
    let args = credential_process_args(
        Some(&endpoint.url),
        &[
            "--certificate",
            leaf.cert.to_str().unwrap(),
            "--private-key",
            encrypted.to_str().unwrap(),
        ],
    );
    let env = [("AWS_CA_BUNDLE", endpoint.tls_ca.to_str().unwrap())];

    let (code, seen) = helper_on_terminal(&args, &env, &["wrong", "s3cret pass"]);
    assert_eq!(code, 0, "{seen}");
    assert!(seen.contains("Password for --private-key"), "{seen}");
    assert!(
        !seen.contains("s3cret pass"),
        "the password is not echoed: {seen}"
    );
    assert!(seen.contains("\"AccessKeyId\""), "{seen}");

    let (code, seen) = helper_on_terminal(&args, &env, &["a", "b", "c"]);
    assert_eq!(code, 3, "{seen}");
    assert!(seen.contains("wrong password, 3 times"), "{seen}");
}

#[test]
fn ml_dsa_keys_in_every_form_get_credentials_and_sign_like_aws_helper() {
    use crate::support::testbed::{CertSpec, GeneratedKey, MlDsaForm, MlDsaLevel};
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    for (level, form) in [
        (MlDsaLevel::L44, MlDsaForm::Seed),
        (MlDsaLevel::L65, MlDsaForm::Seed),
        (MlDsaLevel::L65, MlDsaForm::Expanded),
        (MlDsaLevel::L65, MlDsaForm::Both),
        (MlDsaLevel::L87, MlDsaForm::Both),
    ] {
        let name = format!("{}-{form:?}", level.name());
        let key = GeneratedKey::generate(KeyKind::MlDsa(level, form)).unwrap();
        let cert = pki
            .root
            .issue(&CertSpec::leaf(&name), &key.spki_der)
            .unwrap();
        let (cert_path, key_path) = (
            pki.path(&format!("{name}.pem")),
            pki.path(&format!("{name}.key")),
        );
        std::fs::write(&cert_path, &cert.pem).unwrap();
        std::fs::write(&key_path, key.pkcs8_pem().as_bytes()).unwrap();
        let files = [
            "--certificate",
            cert_path.to_str().unwrap(),
            "--private-key",
            key_path.to_str().unwrap(),
        ];
        let doc = parse_credential_process(&endpoint.credential_process(&files, &[]));
        let record = endpoint.records().pop().unwrap();
        assert_eq!(doc["AccessKeyId"], record["access_key_id"], "{name}");
        assert_eq!(record["algorithm"], "AWS4-X509-MLDSA", "{name}");

        let data = helper(
            &[
                "read-certificate-data",
                "--certificate",
                cert_path.to_str().unwrap(),
            ],
            &[],
        );
        let data: serde_json::Value = serde_json::from_slice(&data.stdout).unwrap();
        assert_eq!(data["keyType"], level.name());
        assert_eq!(
            data["supportedAlgorithms"],
            serde_json::json!([level.name()])
        );
    }

    // sign-string, verified by dilithium-py (independent of our implementation). AWS's helper
    // 1.8 signs only the prefix and the version for ML-DSA keys.
    let key = GeneratedKey::generate(KeyKind::MlDsa(MlDsaLevel::L65, MlDsaForm::Seed)).unwrap();
    let key_path = pki.path("sign-string-mldsa.key");
    std::fs::write(&key_path, key.pkcs8_pem().as_bytes()).unwrap();
    let signed = helper(
        &[
            "sign-string",
            "--private-key",
            key_path.to_str().unwrap(),
            "--format",
            "text",
        ],
        &[],
    );
    assert!(
        signed.status.success(),
        "{}",
        String::from_utf8_lossy(&signed.stderr)
    );
    let public_key = &key.spki_der
        [key.spki_der.len() - rolesanywhere_helper::identity::MlDsaLevel::L65.public_key_len()..];
    let check = format!(
        "from dilithium_py.ml_dsa import ML_DSA_65\nprint(ML_DSA_65.verify(bytes.fromhex('{}'), b'AWS Roles Anywhere Credential Helper Signing Test1', bytes.fromhex('{}'), ctx=b''))",
        hex::encode(public_key),
        String::from_utf8(signed.stdout).unwrap()
    );
    let verified = run_bounded(
        Command::new(python_with_botocore()).args(["-c", &check]),
        Duration::from_secs(60),
    );
    assert_eq!(
        String::from_utf8_lossy(&verified.stdout).trim(),
        "True",
        "{}",
        String::from_utf8_lossy(&verified.stderr)
    );
}
