//! TPM keys end to end on swtpm: key files from the tpm2 OpenSSL provider and tpm2-tools, a
//! persistent handle, passwords, unusable keys, credential-process against the local endpoint,
//! sign-string checked by openssl, and one signer reusing its loaded key. One swtpm per test,
//! started by tpm/swtpm-fixture.sh; a missing swtpm fails the tests.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::support::PasswordFlag::{Given, NoPassword, Unspecified};
use crate::support::*;
use rolesanywhere_helper::identity::tpm::{Password, TpmKey};
use rolesanywhere_helper::identity::{Digest, Signer};
use zeroize::Zeroizing;

#[test]
fn tpm_keys_get_credentials_from_the_local_endpoint() {
    let tpm = Swtpm::start(false);
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &tpm.path("pki/ca.pem"), &[]);
    let cases: [(&str, String, String, PasswordFlag, &str); 7] = [
        (
            "ec256",
            tpm.cert("ec256"),
            tpm.key("ec256"),
            Unspecified,
            "AWS4-X509-ECDSA-SHA256",
        ),
        (
            "ec384",
            tpm.cert("ec384"),
            tpm.key("ec384"),
            Unspecified,
            "AWS4-X509-ECDSA-SHA256",
        ),
        (
            "rsa2048",
            tpm.cert("rsa2048"),
            tpm.key("rsa2048"),
            Unspecified,
            "AWS4-X509-RSA-SHA256",
        ),
        (
            "ec256 under 0x81000001",
            tpm.cert("ec256-p81"),
            tpm.key("ec256-p81"),
            Unspecified,
            "AWS4-X509-ECDSA-SHA256",
        ),
        (
            "password key",
            tpm.cert("ec256-pw"),
            tpm.key("ec256-pw"),
            Given("1234"),
            "AWS4-X509-ECDSA-SHA256",
        ),
        (
            "tpm2_encodeobject file",
            tpm.cert("encoded"),
            tpm.key("encoded"),
            NoPassword,
            "AWS4-X509-ECDSA-SHA256",
        ),
        (
            "persistent handle",
            tpm.cert("persistent"),
            "handle:0x81000101".into(),
            NoPassword,
            "AWS4-X509-ECDSA-SHA256",
        ),
    ];
    for (what, cert, key, password, algorithm) in &cases {
        let output = tpm
            .command("credential-process")
            .endpoint(&endpoint)
            .key_pair(cert, key)
            .password_flag(*password)
            .output();
        assert!(
            output.status.success(),
            "{what}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let doc = parse_credential_process(&output);
        let record = endpoint
            .records()
            .pop()
            .expect("the endpoint saw the request");
        assert_eq!(record["access_key_id"], doc["AccessKeyId"], "{what}");
        assert_eq!(record["algorithm"], *algorithm, "{what}");
    }
    // The tpm2-tss spelling of TPM_DEVICE works too.
    let output = Helper::command("credential-process")
        .endpoint(&endpoint)
        .key_pair(tpm.cert("ec256"), tpm.key("ec256"))
        .tpm_device(tpm.tcti())
        .output();
    parse_credential_process(&output);
    // Every process flushed what it loaded.
    assert_eq!(
        tpm.transient_handles(),
        "",
        "no transient object left behind"
    );
}

#[test]
fn sign_string_signatures_verify_with_openssl() {
    let tpm = Swtpm::start(false);
    for (name, key, password, digest) in [
        ("ec256", tpm.key("ec256"), Unspecified, "SHA256"),
        ("ec256", tpm.key("ec256"), Unspecified, "SHA384"),
        ("ec384", tpm.key("ec384"), Unspecified, "SHA256"),
        ("rsa2048", tpm.key("rsa2048"), Unspecified, "SHA256"),
        ("rsa2048", tpm.key("rsa2048"), Unspecified, "SHA512"),
        ("ec256-p81", tpm.key("ec256-p81"), Unspecified, "SHA256"),
        ("ec256-pw", tpm.key("ec256-pw"), Given("1234"), "SHA256"),
        (
            "persistent",
            "handle:0x81000101".to_string(),
            NoPassword,
            "SHA256",
        ),
    ] {
        let cert = tpm.cert(name);
        let output = tpm
            .command("sign-string")
            .format("bin")
            .digest(digest)
            .key_pair(&cert, &key)
            .password_flag(password)
            .output();
        assert!(
            output.status.success(),
            "{name} {digest}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let leaf =
            rolesanywhere_helper::identity::certificate::load_leaf(Path::new(&cert)).unwrap();
        let public = leaf.public_key.as_ref().unwrap();
        let message = rolesanywhere_helper::commands::sign_string::signing_test_message(
            public.signing_test_bytes(),
        );
        let message_path = tpm.path(&format!("{name}-{digest}.msg"));
        let signature_path = tpm.path(&format!("{name}-{digest}.sig"));
        let public_path = tpm.path(&format!("{name}.pub.pem"));
        std::fs::write(&message_path, &message).unwrap();
        std::fs::write(&signature_path, &output.stdout).unwrap();
        openssl(
            &["x509", "-pubkey", "-noout", "-in", &cert, "-out"],
            &[&public_path],
        );
        let digest_flag = format!("-{}", digest.to_lowercase());
        let verified = openssl(
            &["dgst", &digest_flag, "-verify"],
            &[
                &public_path,
                Path::new("-signature"),
                &signature_path,
                &message_path,
            ],
        );
        assert!(
            String::from_utf8_lossy(&verified.stdout).contains("Verified OK"),
            "{name} {digest}"
        );
    }
    // The persistent key's scheme pins SHA-256: another digest is refused before the TPM.
    let output = tpm
        .command("sign-string")
        .digest("SHA384")
        .no_tpm_key_password()
        .key_pair(tpm.cert("persistent"), "handle:0x81000101")
        .output();
    assert_clean_failure(&output, 3, "fixes the hash");
}

#[test]
fn passwords_wrong_missing_and_conflicting_fail_clearly_and_never_retry() {
    let tpm = Swtpm::start(false);
    let cert = tpm.cert("ec256-pw");
    let key = tpm.key("ec256-pw");
    let sign = || tpm.command("sign-string").key_pair(&cert, &key);

    let before = tpm.lockout_counter();
    let wrong = sign().tpm_key_password("4321").output();
    assert_clean_failure(&wrong, 3, "TPM_RC_AUTH_FAIL");
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("--tpm-key-password"));
    assert_eq!(
        tpm.lockout_counter(),
        before + 1,
        "one wrong password costs exactly one dictionary-attack count"
    );

    // emptyAuth FALSE, no flag, no terminal: a clear error at once, nothing sent to the TPM.
    let missing = sign().output();
    assert_clean_failure(&missing, 3, "no terminal");
    assert!(String::from_utf8_lossy(&missing.stderr).contains("--no-tpm-key-password"));
    assert_eq!(tpm.lockout_counter(), before + 1);

    assert_clean_failure(
        &sign()
            .tpm_key_password("1234")
            .no_tpm_key_password()
            .output(),
        2,
        "--no-tpm-key-password",
    );
    // The key file for a password-less tpm2_encodeobject key says emptyAuth FALSE too.
    let output = tpm
        .command("sign-string")
        .key_pair(tpm.cert("encoded"), tpm.key("encoded"))
        .output();
    assert_clean_failure(&output, 3, "--tpm-key-password");

    // In one process, a refused password is never presented again.
    {
        let signer = TpmKey::from_key_file(
            &tpm.path("tpmkeys/ec256-pw.pem"),
            &tpm.options(Password::Given(Zeroizing::new("4321".into()))),
        )
        .expect("loading needs no key password");
        let first = signer.sign(b"message", Digest::Sha256).unwrap_err();
        let second = signer.sign(b"message", Digest::Sha256).unwrap_err();
        assert!(first.to_string().contains("TPM_RC_AUTH_FAIL"), "{first}");
        assert_eq!(first.to_string(), second.to_string());
    }
    assert_eq!(
        tpm.lockout_counter(),
        before + 2,
        "the second sign never reached the TPM"
    );

    // The right password still works: nothing is locked out.
    let right = sign().tpm_key_password("1234").output();
    assert!(
        right.status.success(),
        "{}",
        String::from_utf8_lossy(&right.stderr)
    );
}

#[test]
fn unusable_keys_and_missing_tpms_get_one_clear_line() {
    let tpm = Swtpm::start(false);
    let cert = tpm.cert("ec256");
    let sign = |key: &str, device: &str| {
        Helper::command("sign-string")
            .no_tpm_key_password()
            .key_pair(&cert, key)
            .tpm_device(device)
            .output()
    };
    let device = tpm.device();
    assert_clean_failure(&sign(&tpm.key("decrypt-only"), &device), 3, "decrypt-only");
    assert_clean_failure(
        &sign("handle:0x81000222", &device),
        3,
        "no key is persisted at handle 0x81000222",
    );
    assert_clean_failure(
        &sign("handle:0x80000001", &device),
        2,
        "not a persistent key handle",
    );
    // The certificate of another key: load_identity/sign-string compare public keys.
    assert_clean_failure(
        &sign(&tpm.key("ec384"), &device),
        3,
        "does not match the certificate",
    );
    // No TPM at all.
    assert_clean_failure(
        &sign(&tpm.key("ec256"), "tcp:127.0.0.1:1"),
        3,
        "cannot reach the TPM",
    );
    assert_clean_failure(
        &sign(&tpm.key("ec256"), "/nonexistent/tpm"),
        3,
        "no such TPM device",
    );
    assert_clean_failure(&sign(&tpm.key("ec256"), "mssim:host=x"), 3, "mssim");

    // A key file made on another TPM: a second, fresh swtpm.
    let other = Swtpm::start(true);
    let output = sign(&tpm.key("ec256"), &other.device());
    assert_clean_failure(&output, 3, "TPM_RC_INTEGRITY");
    assert!(String::from_utf8_lossy(&output.stderr).contains("another TPM"));
    let output = sign(&tpm.key("ec256-p81"), &other.device());
    assert_clean_failure(&output, 3, "0x81000001 is not in the TPM");
    assert_eq!(other.transient_handles(), "");
    assert_eq!(tpm.transient_handles(), "");
}

#[test]
fn one_signer_loads_its_key_once_and_reloads_after_a_tpm_reset() {
    let mut tpm = Swtpm::start(false);
    let cert =
        rolesanywhere_helper::identity::certificate::load_leaf(&tpm.path("tpmkeys/ec256.crt.pem"))
            .unwrap();
    {
        let signer = TpmKey::from_key_file(
            &tpm.path("tpmkeys/ec256.pem"),
            &tpm.options(Password::Unspecified),
        )
        .expect("ec256 loads");
        assert_eq!(Some(signer.public_key()), cert.public_key.as_ref().ok());
        for i in 0..50 {
            let signature = signer
                .sign(format!("message {i}").as_bytes(), Digest::Sha256)
                .expect("signs");
            let verifying = p256::ecdsa::VerifyingKey::from_sec1_bytes(
                signer.public_key().signing_test_bytes().unwrap(),
            )
            .unwrap();
            let parsed = p256::ecdsa::Signature::from_der(&signature).unwrap();
            use p256::ecdsa::signature::Verifier as _;
            verifying
                .verify(format!("message {i}").as_bytes(), &parsed)
                .expect("the TPM's signature verifies");
        }
        assert_eq!(signer.load_count(), 1, "one TPM2_Load for 50 signatures");
        assert_eq!(
            signer.primary_count(),
            1,
            "one storage key for 50 signatures"
        );

        // Reset the TPM under the signer (swtpm's control channel: CMD_INIT).
        let reset = run_bounded(
            Command::new("swtpm_ioctl").args([
                "--tcp",
                &format!("127.0.0.1:{}", tpm.port + 1),
                "-i",
            ]),
            Duration::from_secs(20),
        );
        assert!(
            reset.status.success(),
            "{}",
            String::from_utf8_lossy(&reset.stderr)
        );
        signer
            .sign(b"after the reset", Digest::Sha256)
            .expect("reloads by itself after a TPM reset");
        assert_eq!(signer.load_count(), 2, "reloaded exactly once");
        signer.sign(b"and again", Digest::Sha256).unwrap();
        assert_eq!(signer.load_count(), 2);

        // The simulator restarts (the connection breaks): reconnect and reload, once.
        tpm.restart();
        signer
            .sign(b"after a restart", Digest::Sha256)
            .expect("reconnects and reloads by itself");
        assert_eq!(signer.load_count(), 3);
        assert_eq!(signer.primary_count(), 3);
    }
    // Dropped: the loaded key was flushed.
    assert_eq!(tpm.transient_handles(), "");

    // A persistent key is never loaded.
    let signer = TpmKey::from_persistent_handle(
        0x8100_0101,
        "handle:0x81000101",
        &tpm.options(Password::Empty),
    )
    .expect("persistent key");
    for _ in 0..20 {
        signer.sign(b"message", Digest::Sha256).expect("signs");
    }
    assert_eq!(signer.load_count(), 0);
    drop(signer);

    // RSA and P-384 through the same path.
    for name in ["rsa2048", "ec384", "ec256-p81"] {
        let signer = TpmKey::from_key_file(
            &tpm.path(&format!("tpmkeys/{name}.pem")),
            &tpm.options(Password::Unspecified),
        )
        .expect("loads");
        for _ in 0..5 {
            signer.sign(b"message", Digest::Sha256).expect("signs");
        }
        assert_eq!(signer.load_count(), 1, "{name}");
        let expected_primaries = if name == "ec256-p81" { 0 } else { 1 };
        assert_eq!(signer.primary_count(), expected_primaries, "{name}");
    }
    assert_eq!(tpm.transient_handles(), "");
}

#[test]
fn a_missing_password_is_asked_on_the_terminal_without_echo() {
    use std::io::Write as _;
    let tpm = Swtpm::start(false);
    let command_line = format!(
        "{BIN} sign-string --format text --certificate {} --private-key {}",
        tpm.cert("ec256-pw"),
        tpm.key("ec256-pw")
    );
    // `script` gives the helper a pseudo-terminal; the password is typed once the prompt is up.
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &command_line, "/dev/null"])
        .env("TPM_DEVICE", tpm.device())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("script (util-linux) runs");
    let mut stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let shown_so_far = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let reader = {
        let shown_so_far = shown_so_far.clone();
        std::thread::spawn(move || {
            use std::io::Read as _;
            let mut buffer = [0u8; 512];
            while let Ok(n) = stdout.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                shown_so_far.lock().unwrap().extend_from_slice(&buffer[..n]);
            }
        })
    };
    let started = Instant::now();
    let mut typed = false;
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("the prompt did not finish within 30 s");
        }
        let prompted = String::from_utf8_lossy(&shown_so_far.lock().unwrap())
            .contains("Password of the TPM key");
        if prompted && !typed {
            // Type only once the prompt is up (and echo off), as a person would.
            std::thread::sleep(Duration::from_millis(200));
            stdin.write_all(b"1234\n").unwrap();
            typed = true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(stdin);
    reader.join().unwrap();
    let status = child.wait().unwrap();
    let shown_bytes = shown_so_far.lock().unwrap().clone();
    let output = Output {
        status,
        stdout: shown_bytes,
        stderr: Vec::new(),
    };
    let shown = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{shown}");
    assert!(shown.contains("Password of the TPM key"), "{shown}");
    let (before_signature, signature) = shown.trim_end().rsplit_once('\n').unwrap();
    let signature = signature.trim();
    assert!(
        !before_signature.contains("1234"),
        "the password was echoed: {shown}"
    );
    assert!(
        signature.starts_with("30") && hex::decode(signature).is_ok(),
        "a DER signature in hex: {shown}"
    );
}

#[test]
fn a_swtpm_unix_socket_works_in_every_spelling() {
    let tpm = Swtpm::start_with(false, true);
    let socket = tpm.device();
    let (cert, key) = (tpm.cert("ec256"), tpm.key("ec256"));
    for device in [
        socket.clone(),
        format!("unix:{socket}"),
        format!("swtpm:path={socket}"),
    ] {
        let output = Helper::command("sign-string")
            .key_pair(&cert, &key)
            .tpm_device(&device)
            .output();
        assert!(
            output.status.success(),
            "TPM_DEVICE={device}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert_eq!(tpm.transient_handles(), "");
}

/// `serve` refreshing again and again signs with the one key it loaded.
#[test]
fn serve_refreshes_many_times_with_one_loaded_key() {
    let tpm = Swtpm::start(false);
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &tpm.path("pki/ca.pem"), &[]);
    let (cert, key) = (tpm.cert("ec256"), tpm.key("ec256"));
    let running = tpm
        .command("serve")
        .endpoint(&endpoint)
        .arg("--port")
        .arg(free_port().to_string())
        .args(["--session-duration", "900"])
        .debug()
        .key_pair(&cert, &key)
        // Test-only: refresh every few seconds.
        .envs(&[FAST_REFRESH])
        .spawn();
    wait_for("three refreshes", Duration::from_secs(60), || {
        endpoint.issued().len() >= 3
    });
    let stderr = running.stderr();
    assert_eq!(
        stderr.matches("using the TPM key").count(),
        1,
        "one load for every refresh: {stderr}"
    );
    // (The simulator serves one connection at a time, and serve keeps its own open, so
    // tpm2-tools cannot look at the transient objects while it runs.)
}
