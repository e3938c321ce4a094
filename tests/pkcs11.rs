//! PKCS#11 keys end to end on SoftHSM2 tokens made at test time (pkcs11/make-softhsm-token.sh):
//! credential-process against the local endpoint (keys generated in the token and imported
//! ones), sign-string checked by openssl, read-certificate-data listings, `serve` and `update`
//! on one login, botocore through `credential_process`, and every failure the token can cause.
//! A missing SoftHSM2 fails these tests; nothing is skipped.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::support::*;
use rolesanywhere_helper::commands::sign_string::signing_test_message;
use rolesanywhere_helper::identity::certificate;
use rolesanywhere_helper::identity::{Digest, PublicKey, pkcs11};
use rolesanywhere_helper::settings::identity::IdentitySpec;

/// Checks a sign-string `--format bin` signature with openssl against the certificate's key.
fn assert_openssl_verifies(token: &Token, cert: &Path, signature: &[u8], digest: &str) {
    let leaf = certificate::load_leaf(cert).unwrap();
    let public = leaf.public_key.clone().unwrap();
    let message = signing_test_message(public.signing_test_bytes());
    let unique = format!(
        "{}-{digest}-{}",
        cert.file_stem().unwrap().to_string_lossy(),
        signature.len()
    );
    let message_path = token.path(&format!("{unique}.msg"));
    let signature_path = token.path(&format!("{unique}.sig"));
    let public_path = token.path(&format!("{unique}.pub.pem"));
    std::fs::write(&message_path, &message).unwrap();
    std::fs::write(&signature_path, signature).unwrap();
    let pem = openssl(&["x509", "-pubkey", "-noout", "-in"], &[cert]);
    std::fs::write(&public_path, &pem.stdout).unwrap();
    let verified = openssl(
        &[
            "dgst",
            &format!("-{}", digest.to_ascii_lowercase()),
            "-verify",
        ],
        &[
            &public_path,
            Path::new("-signature"),
            &signature_path,
            &message_path,
        ],
    );
    assert!(
        String::from_utf8_lossy(&verified.stdout).contains("Verified OK"),
        "openssl: {}",
        String::from_utf8_lossy(&verified.stdout)
    );
}

#[test]
fn credential_process_signs_with_token_keys_of_every_type() {
    let token = Token::new();
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &token.ca(), &[]);
    for (object, algorithm) in [
        ("ec256", "AWS4-X509-ECDSA-SHA256"),
        ("ec384", "AWS4-X509-ECDSA-SHA256"),
        ("rsa2048", "AWS4-X509-RSA-SHA256"),
    ] {
        let uri = token.uri(object);
        let output = token
            .credential_process_against(&endpoint)
            .key_pair(&uri, &uri)
            .pkcs11_lib(&token.module)
            .output();
        assert!(output.status.success(), "{object}: {}", stderr(&output));
        let doc = parse_credential_process(&output);
        let record = endpoint.records().pop().unwrap();
        assert_eq!(record["access_key_id"], doc["AccessKeyId"], "{object}");
        assert_eq!(record["algorithm"], algorithm, "{object}");
        assert_eq!(record["verified"], true, "{object}");
        // Never a chain of the leaf itself or the root: the root is the trust anchor.
        assert_eq!(record["chain_subjects"], serde_json::json!([]), "{object}");
    }

    // A certificate file with a key URI; the PIN in the URI; the module from the URI.
    let cert_file = token.path("ec384.crt.pem");
    let key_uri = format!(
        "pkcs11:token={};object=ec384;type=private?pin-value={PIN}&module-path={}",
        token.label, token.module
    );
    let output = token
        .command("credential-process")
        .endpoint(&endpoint)
        .key_pair(&cert_file, &key_uri)
        .debug()
        .output();
    assert!(
        output.status.success(),
        "key URI + cert file: {}",
        stderr(&output)
    );
    parse_credential_process(&output);
    assert!(
        !stderr(&output).contains(&format!("pin-value={PIN}")),
        "--debug never prints the PIN: {}",
        stderr(&output)
    );

    // Only a certificate URI: the key is the one with the certificate's CKA_ID; the PIN from a
    // pin-source file.
    let pin_file = token.path("pin.txt");
    std::fs::write(&pin_file, format!("{PIN}\n")).unwrap();
    let cert_uri = format!(
        "pkcs11:token={};id=%03;type=cert?pin-source={}",
        token.label,
        pin_file.display()
    );
    let output = token
        .command("credential-process")
        .endpoint(&endpoint)
        .certificate(&cert_uri)
        .pkcs11_lib(&token.module)
        .output();
    assert!(
        output.status.success(),
        "certificate URI only: {}",
        stderr(&output)
    );
    parse_credential_process(&output);
    assert_eq!(
        endpoint.records().pop().unwrap()["algorithm"],
        "AWS4-X509-RSA-SHA256"
    );
}

#[test]
fn the_chain_comes_from_the_token_unless_intermediates_are_given() {
    let token = Token::new();
    let pki = Pki::new();
    // The endpoint trusts only the root: the intermediate must be sent.
    let endpoint = LocalEndpoint::start(&pki, &token.ca(), &[]);
    let uri = token.uri("ec256-int");
    let output = token
        .credential_process_against(&endpoint)
        .certificate(&uri)
        .pkcs11_lib(&token.module)
        .output();
    assert!(output.status.success(), "{}", stderr(&output));
    parse_credential_process(&output);
    let record = endpoint.records().pop().unwrap();
    assert_eq!(
        record["chain_subjects"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect::<Vec<_>>()
            .len(),
        1,
        "{record}"
    );
    assert!(
        record["chain_subjects"][0]
            .as_str()
            .unwrap()
            .contains("SoftHSM Test Intermediate CA"),
        "{record}"
    );

    // --intermediates wins over the token's certificates.
    let intermediates = token.path("intermediate.pem");
    let output = token
        .credential_process_against(&endpoint)
        .certificate(&uri)
        .pkcs11_lib(&token.module)
        .intermediates(&intermediates)
        .output();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        endpoint.records().pop().unwrap()["chain_subjects"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn sign_string_signatures_verify_with_openssl_for_every_digest() {
    let token = Token::new();
    for object in ["ec256", "ec384", "rsa2048", "ec384-imported"] {
        for digest in ["SHA256", "SHA384", "SHA512"] {
            let uri = token.uri(object);
            let output = token
                .command("sign-string")
                .key_pair(&uri, &uri)
                .pkcs11_lib(&token.module)
                .format("bin")
                .digest(digest)
                .env("PKCS11_PIN", PIN)
                .output();
            assert!(
                output.status.success(),
                "{object} {digest}: {}",
                stderr(&output)
            );
            assert_openssl_verifies(
                &token,
                &token.path(&format!("{object}.crt.pem")),
                &output.stdout,
                digest,
            );
        }
    }
    // Only a key URI: the public key comes from the token.
    let output = token
        .command("sign-string")
        .private_key(token.uri("ec256"))
        .pkcs11_lib(&token.module)
        .format("bin")
        .env("PKCS11_PIN", PIN)
        .output();
    assert!(output.status.success(), "key URI only: {}", stderr(&output));
    assert_openssl_verifies(
        &token,
        &token.path("ec256.crt.pem"),
        &output.stdout,
        "SHA256",
    );
}

#[test]
fn always_authenticate_keys_log_in_before_each_signature_with_reuse_pin() {
    let token = Token::new();
    let uri = token.uri("ec256-always");
    let output = token
        .command("sign-string")
        .certificate(&uri)
        .pkcs11_lib(&token.module)
        .reuse_pin()
        .format("bin")
        .env("PKCS11_PIN", PIN)
        .output();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_openssl_verifies(
        &token,
        &token.path("ec256-always.crt.pem"),
        &output.stdout,
        "SHA256",
    );

    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &token.ca(), &[]);
    let output = token
        .credential_process_against(&endpoint)
        .certificate(&uri)
        .pkcs11_lib(&token.module)
        .reuse_pin()
        .output();
    assert!(output.status.success(), "{}", stderr(&output));
    parse_credential_process(&output);

    // Without --reuse-pin the key's PIN is asked for; with no terminal, a clear error at once.
    let output = token
        .command_with_module("sign-string")
        .certificate(&uri)
        .env("PKCS11_PIN", PIN)
        .wrapped_in("setsid", &["-w"])
        .limit(Duration::from_secs(30))
        .output();
    assert_clean_failure(&output, 3, "--reuse-pin");
    assert!(stderr(&output).contains("CKA_ALWAYS_AUTHENTICATE"));
}

#[test]
fn read_certificate_data_lists_matching_certificates_with_uris() {
    let token = Token::new();
    let output = token
        .command("read-certificate-data")
        .certificate(token.uri("twin"))
        .pkcs11_lib(&token.module)
        .output();
    assert!(output.status.success(), "{}", stderr(&output));
    let text = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "Matching identities", "{text}");
    for (index, id) in [(1, "06"), (2, "07")] {
        let cert = token.path(&format!("twin-{id}.crt.pem"));
        let der = openssl(&["x509", "-outform", "DER", "-in"], &[&cert]).stdout;
        let fingerprint = ring_sha1_hex(&der);
        let subject = format!("CN=softhsm-twin-{id}");
        let entry = text
            .split(&format!("{index}) "))
            .nth(1)
            .unwrap_or_else(|| panic!("no entry {index} in {text}"));
        assert!(entry.starts_with(&fingerprint), "{fingerprint} in {text}");
        assert!(entry.contains(&format!("\"{subject}\"")), "{text}");
        assert!(
            entry.contains("Issuer: \"CN=SoftHSM Test Root CA\""),
            "{text}"
        );
        assert!(entry.contains("Serial: "), "{text}");
        assert!(
            text.contains(&format!(
                "URI: pkcs11:token={};manufacturer=SoftHSM%20project;model=SoftHSM%20v2;",
                token.label
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!("id=%{id};object=twin;type=cert")),
            "{text}"
        );
    }
    // A listed URI selects exactly its certificate.
    let listed = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("URI: "))
        .unwrap()
        .to_string();
    let output = token
        .command("read-certificate-data")
        .certificate(&listed)
        .pkcs11_lib(&token.module)
        .output();
    assert_eq!(
        String::from_utf8_lossy(&output.stdout)
            .matches(") ")
            .count(),
        1,
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    // The whole token: 8 leaves and 2 CA certificates.
    let output = token
        .command("read-certificate-data")
        .certificate(format!("pkcs11:token={}", token.label))
        .pkcs11_lib(&token.module)
        .output();
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(text.matches("\tURI: ").count(), 10, "{text}");
    // Nothing matches.
    let output = token
        .command("read-certificate-data")
        .certificate(token.uri("nothing-here"))
        .pkcs11_lib(&token.module)
        .env("PKCS11_PIN", PIN)
        .output();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "No matching identities\n"
    );
}

fn ring_sha1_hex(der: &[u8]) -> String {
    let output = {
        let path =
            std::env::temp_dir().join(format!("rah-sha1-{}-{}", std::process::id(), der.len()));
        std::fs::write(&path, der).unwrap();
        let out = openssl(&["dgst", "-sha1", "-r"], &[&path]);
        let _ = std::fs::remove_file(&path);
        out
    };
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn several_matches_list_every_candidate_uri() {
    let token = Token::new();
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &token.ca(), &[]);
    let uri = token.uri("twin");
    let output = token
        .credential_process_against(&endpoint)
        .certificate(&uri)
        .pkcs11_lib(&token.module)
        .output();
    assert_clean_failure(&output, 3, "2 certificates match");
    let message = stderr(&output);
    assert!(
        message.contains("id=%06;object=twin;type=cert"),
        "{message}"
    );
    assert!(
        message.contains("id=%07;object=twin;type=cert"),
        "{message}"
    );

    let output = token
        .command("sign-string")
        .private_key(&uri)
        .pkcs11_lib(&token.module)
        .env("PKCS11_PIN", PIN)
        .output();
    assert_clean_failure(&output, 3, "2 private keys match");
    let message = stderr(&output);
    assert!(
        message.contains("id=%06;object=twin;type=private"),
        "{message}"
    );
    assert!(
        message.contains("id=%07;object=twin;type=private"),
        "{message}"
    );

    // A certificate file picks its own key among the twins by public key.
    let cert = token.path("twin-07.crt.pem");
    let output = token
        .command("sign-string")
        .key_pair(&cert, &uri)
        .pkcs11_lib(&token.module)
        .format("bin")
        .env("PKCS11_PIN", PIN)
        .output();
    assert!(output.status.success(), "{}", stderr(&output));
    assert_openssl_verifies(&token, &cert, &output.stdout, "SHA256");

    // Nothing matches: the error says what was searched.
    let output = token
        .credential_process_against(&endpoint)
        .certificate(token.uri("absent"))
        .pkcs11_lib(&token.module)
        .output();
    assert_clean_failure(
        &output,
        3,
        "no certificate found: searched certificates with object=absent",
    );
}

#[test]
fn a_wrong_pin_fails_at_once_and_leaves_the_token_usable() {
    let token = Token::new();
    let uri = token.uri("ec256");
    let sign = |pin: &str| {
        token
            .command("sign-string")
            .certificate(&uri)
            .pkcs11_lib(&token.module)
            .env("PKCS11_PIN", pin)
            .output()
    };
    let output = sign("987654");
    assert_clean_failure(
        &output,
        3,
        "rejected the PIN from $PKCS11_PIN (CKR_PIN_INCORRECT",
    );
    assert!(
        !stderr(&output).contains("987654"),
        "the PIN is never printed"
    );
    // One failed login per run, never a loop: the token is not locked and the right PIN works.
    for _ in 0..2 {
        assert_eq!(sign("987654").status.code(), Some(3));
    }
    let output = sign(PIN);
    assert!(output.status.success(), "{}", stderr(&output));

    // No PIN anywhere and no terminal: a clear error, never a hang.
    let output = token
        .command_with_module("sign-string")
        .certificate(&uri)
        .wrapped_in("setsid", &["-w"])
        .limit(Duration::from_secs(30))
        .output();
    assert_clean_failure(&output, 3, "no terminal to ask for it");
    assert!(stderr(&output).contains("PKCS11_PIN"));
}

#[test]
fn module_and_uri_mistakes_get_one_clear_line() {
    let token = Token::new();
    let missing = "/nonexistent/lib/libnothing-pkcs11.so";
    let output = token
        .command("sign-string")
        .private_key(token.uri("ec256"))
        .pkcs11_lib(missing)
        .env("PKCS11_PIN", PIN)
        .output();
    assert_clean_failure(&output, 3, missing);
    assert!(stderr(&output).contains("install"), "{}", stderr(&output));

    // No module anywhere: p11-kit's proxy is the default, as in AWS's helper. The token's private
    // default module is absent whatever the host has installed (a desktop's proxy would find the
    // token through the system's SoftHSM2 module); the_default_module_is_p11_kit_s_proxy checks
    // the other side.
    let output = token
        .command("sign-string")
        .private_key(token.uri("ec256"))
        .env("PKCS11_PIN", PIN)
        .output();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(stderr(&output).contains("p11-kit"), "{}", stderr(&output));
    assert_clean_failure(&output, 3, "p11-kit's proxy is not installed");
    assert!(
        stderr(&output).contains(token.default_module.to_str().unwrap()),
        "the message names where it looked: {}",
        stderr(&output)
    );

    let output = token
        .command("sign-string")
        .private_key(format!("pkcs11:token={};objekt=ec256", token.label))
        .pkcs11_lib(&token.module)
        .output();
    assert_clean_failure(&output, 2, "`objekt` is not an RFC 7512 path attribute");
    let output = token
        .command("sign-string")
        .private_key("pkcs11:object=ec%2")
        .pkcs11_lib(&token.module)
        .output();
    assert_clean_failure(&output, 2, "`object` has a bad percent-escape");

    let output = token
        .command("sign-string")
        .private_key("pkcs11:token=no-such-token;object=ec256")
        .pkcs11_lib(&token.module)
        .env("PKCS11_PIN", PIN)
        .output();
    assert_clean_failure(&output, 3, "no token in");
    assert!(stderr(&output).contains(&token.label));

    // module-path naming a directory plus module-name, as RFC 7512 allows.
    let module = Path::new(&token.module);
    let by_name = format!(
        "pkcs11:token={};object=ec256?module-path={}&module-name={}&pin-value={PIN}",
        token.label,
        module.parent().unwrap().display(),
        module.file_stem().unwrap().to_string_lossy()
    );
    let output = token.command("sign-string").private_key(&by_name).output();
    assert!(output.status.success(), "module-name: {}", stderr(&output));

    // An unreadable pin-source names the file.
    let absent_pin = token.path("no-such-pin-file");
    let output = token
        .command("sign-string")
        .private_key(format!(
            "{}?pin-source={}",
            token.uri("ec256"),
            absent_pin.display()
        ))
        .pkcs11_lib(&token.module)
        .output();
    assert_clean_failure(&output, 3, "cannot read the PIN file");
    assert!(stderr(&output).contains("no-such-pin-file"));

    // File keys never need a PKCS#11 library.
    let pki = Pki::new();
    let leaf = pki.leaf("file", crate::support::testbed::KeyKind::EcP256);
    let output = Helper::command("sign-string").leaf(&leaf).output();
    assert!(output.status.success(), "{}", stderr(&output));
}

/// With neither `--pkcs11-lib` nor a module in the URI, the helper signs through p11-kit's proxy
/// (here the token's private stand-in for it, not whatever the host has installed).
#[test]
fn the_default_module_is_p11_kit_s_proxy() {
    let token = Token::new();
    token.install_default_module();
    let output = token
        .command("sign-string")
        .private_key(token.uri("ec256"))
        .format("bin")
        .debug()
        .env("PKCS11_PIN", PIN)
        .output();
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).contains(token.default_module.to_str().unwrap()),
        "loaded the default module: {}",
        stderr(&output)
    );
    assert_openssl_verifies(
        &token,
        &token.path("ec256.crt.pem"),
        &output.stdout,
        "SHA256",
    );
}

/// The only test that loads the module in this process (SoftHSM reads SOFTHSM2_CONF once, at
/// C_Initialize): one signer signs many times with one session and one login, and logs in again
/// by itself when the token closes its sessions.
#[test]
fn one_signer_signs_many_times_with_one_login_and_recovers_lost_sessions() {
    let token = Token::new();
    // SAFETY: no other test in this binary reads the environment from C code; std serialises its
    // own environment access (other tests spawn children concurrently).
    unsafe { std::env::set_var("SOFTHSM2_CONF", &token.conf) };
    let uri = format!("{}?pin-value={PIN}", token.uri("ec384"));
    let key = IdentitySpec {
        certificate: Some(uri.clone()),
        private_key: Some(uri),
        pkcs11_lib: Some(token.module.clone()),
        ..Default::default()
    };
    let logins_before = pkcs11::user_login_count();
    let sessions_before = pkcs11::session_open_count();
    let loaded = pkcs11::load(&key, true).unwrap();
    let signer = loaded.signer.unwrap();
    let PublicKey::Ec { point, .. } = signer.public_key().clone() else {
        panic!("EC key expected");
    };
    let verifying = p384::ecdsa::VerifyingKey::from_sec1_bytes(&point).unwrap();
    let verify = |message: &[u8], der: &[u8]| {
        use p384::ecdsa::signature::hazmat::PrehashVerifier;
        let signature = p384::ecdsa::Signature::from_der(der).unwrap();
        verifying
            .verify_prehash(&Digest::Sha256.hash(message), &signature)
            .unwrap();
    };
    for i in 0..25u32 {
        let message = format!("message {i}");
        let signature = signer.sign(message.as_bytes(), Digest::Sha256).unwrap();
        verify(message.as_bytes(), &signature);
    }
    assert_eq!(pkcs11::user_login_count() - logins_before, 1, "one login");
    assert_eq!(
        pkcs11::session_open_count() - sessions_before,
        1,
        "one session"
    );

    // The token closes every session (as after a reset): the signer reopens and logs in again.
    close_all_sessions(&token.module);
    let signature = signer.sign(b"after the reset", Digest::Sha256).unwrap();
    verify(b"after the reset", &signature);
    assert_eq!(
        pkcs11::user_login_count() - logins_before,
        2,
        "one more login"
    );
    assert_eq!(pkcs11::session_open_count() - sessions_before, 2);
    for _ in 0..5 {
        signer.sign(b"again", Digest::Sha256).unwrap();
    }
    assert_eq!(pkcs11::user_login_count() - logins_before, 2);
}

/// C_CloseAllSessions on every slot, through the module the signer uses (same process state).
fn close_all_sessions(module: &str) {
    // SAFETY: the module is already loaded and initialised in this process; these calls only
    // read the slot list and close sessions.
    unsafe {
        let library = cryptoki_sys::Pkcs11::new(module).unwrap();
        let mut count: cryptoki_sys::CK_ULONG = 0;
        assert_eq!(
            library.C_GetSlotList(cryptoki_sys::CK_TRUE, std::ptr::null_mut(), &mut count),
            0
        );
        let mut slots = vec![0 as cryptoki_sys::CK_SLOT_ID; count as usize];
        assert_eq!(
            library.C_GetSlotList(cryptoki_sys::CK_TRUE, slots.as_mut_ptr(), &mut count),
            0
        );
        for slot in &slots[..count as usize] {
            assert_eq!(library.C_CloseAllSessions(*slot), 0);
        }
    }
}

/// The PIN prompt on a real (pseudo-)terminal: asked once, not echoed, and accepted.
#[test]
fn the_pin_is_asked_on_the_terminal_without_echo() {
    use std::io::{Read as _, Write as _};
    use std::process::Stdio;
    use std::time::Instant;

    let token = Token::new();
    let command_line = format!(
        "{BIN} sign-string --certificate 'pkcs11:token={};object=ec256' --pkcs11-lib {}",
        token.label, token.module
    );
    // `script` gives the helper a pseudo-terminal as its controlling terminal.
    let mut child = Command::new("script")
        .args(["-qec", &command_line, "/dev/null"])
        .env("SOFTHSM2_CONF", &token.conf)
        .env("RAH_TEST_P11_KIT_PROXY", &token.default_module)
        .env_remove("PKCS11_PIN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("script (util-linux) runs");
    let mut stdout = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buffer) {
            if n == 0 || sender.send(buffer[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let started = Instant::now();
    let mut seen = Vec::new();
    let mut answered = false;
    let status = loop {
        while let Ok(chunk) = receiver.try_recv() {
            seen.extend(chunk);
        }
        // Type the PIN only once the prompt is up (and echo is off).
        if !answered && String::from_utf8_lossy(&seen).contains("PIN for PKCS#11 token") {
            let mut stdin = child.stdin.take().unwrap();
            stdin.write_all(format!("{PIN}\n").as_bytes()).unwrap();
            answered = true;
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the prompt test ran longer than 30 s; saw {:?}",
                String::from_utf8_lossy(&seen)
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    reader.join().unwrap();
    while let Ok(chunk) = receiver.try_recv() {
        seen.extend(chunk);
    }
    let text = String::from_utf8_lossy(&seen);
    assert!(status.success(), "{text}");
    assert!(answered, "no prompt: {text}");
    // An echo would stand between the prompt and the signature; the prompt (the token's label)
    // and the signature's hex may hold the PIN's digits by chance.
    let after_prompt = text
        .find("PIN for PKCS#11 token")
        .and_then(|at| text[at..].find(": ").map(|colon| at + colon + 2))
        .map_or(&text[..], |at| &text[at..]);
    let typed = after_prompt
        .rfind("\"30")
        .map_or(after_prompt, |at| &after_prompt[..at]);
    assert!(!typed.contains(PIN), "the PIN was echoed: {text:?}");
    assert!(text.contains("\"30"), "a DER signature in JSON: {text:?}");
}

/// `update` refreshing again and again keeps the one session and login it opened.
#[test]
fn update_refreshes_many_times_on_one_token_login() {
    let token = Token::new();
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &token.ca(), &[]);
    let uri = token.uri("ec256");
    let credentials_file = token.path("credentials");
    let running = token
        .command_with_module("update")
        .endpoint(&endpoint)
        .args(["--profile", "token", "--session-duration", "900"])
        .debug()
        .key_pair(&uri, &uri)
        .env("PKCS11_PIN", PIN)
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials_file)
        // Test-only: refresh every few seconds.
        .envs(&[FAST_REFRESH])
        .spawn();
    wait_for("three refreshes", Duration::from_secs(60), || {
        endpoint.issued().len() >= 3
    });
    let stderr = running.stderr();
    assert_eq!(
        stderr.matches("using the token key").count(),
        1,
        "one session and login for every refresh: {stderr}"
    );
}

/// One HTTP/1.1 request to 127.0.0.1:`port` on a fresh connection: (status, body).
fn http_local(port: u16, method: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let answer = http(("127.0.0.1", port), method, path, headers);
    (answer.status, answer.text())
}

/// `serve` refreshing again and again keeps the one session and login it opened, and serves the
/// refreshed credentials over IMDSv2.
#[test]
fn serve_refreshes_many_times_on_one_token_login() {
    let token = Token::new();
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &token.ca(), &[]);
    let port = free_port();
    let uri = token.uri("ec256");
    let mut running = token
        .command_with_module("serve")
        .endpoint(&endpoint)
        .arg("--port")
        .arg(port.to_string())
        .args(["--bind", "127.0.0.1", "--session-duration", "900"])
        .debug()
        .key_pair(&uri, &uri)
        .env("PKCS11_PIN", PIN)
        // Test-only: refresh every few seconds.
        .envs(&[FAST_REFRESH])
        .spawn();
    let issued = || endpoint.issued();
    wait_for("three refreshes", Duration::from_secs(60), || {
        assert!(
            running.child.try_wait().unwrap().is_none(),
            "serve exited: {}",
            running.stderr()
        );
        issued().len() >= 3
    });
    for record in issued() {
        assert_eq!(record["verified"], true, "{record}");
        assert_eq!(record["algorithm"], "AWS4-X509-ECDSA-SHA256", "{record}");
    }

    // IMDSv2 serves refreshed credentials (one of the issued ones, not the first).
    let (status, imds_token) = http_local(
        port,
        "PUT",
        "/latest/api/token",
        &[("X-aws-ec2-metadata-token-ttl-seconds", "60")],
    );
    assert_eq!(status, 200, "{imds_token}");
    let auth = [("X-aws-ec2-metadata-token", imds_token.as_str())];
    let (status, role) = http_local(
        port,
        "GET",
        "/latest/meta-data/iam/security-credentials/",
        &auth,
    );
    assert_eq!(status, 200, "{role}");
    let (status, body) = http_local(
        port,
        "GET",
        &format!("/latest/meta-data/iam/security-credentials/{}", role.trim()),
        &auth,
    );
    assert_eq!(status, 200, "{body}");
    let served: serde_json::Value = serde_json::from_str(&body).unwrap();
    let issued_keys: Vec<serde_json::Value> = issued()
        .iter()
        .map(|r| r["access_key_id"].clone())
        .collect();
    let position = issued_keys
        .iter()
        .position(|k| *k == served["AccessKeyId"])
        .unwrap_or_else(|| panic!("served {served} is not among the issued {issued_keys:?}"));
    assert!(position >= 1, "serve still serves its first credentials");

    let stderr = running.stderr();
    assert_eq!(
        stderr.matches("using the token key").count(),
        1,
        "one session and login for every refresh: {stderr}"
    );
}

/// The token's view of a private key (pkcs11-tool --list-objects): its "Access:" line.
fn private_key_access(token: &Token, label: &str) -> String {
    let text = token.list_objects(&["--type", "privkey"]);
    text.split("Private Key Object")
        .find(|block| {
            block
                .lines()
                .any(|l| l.trim() == format!("label:      {label}"))
        })
        .and_then(|block| {
            block
                .lines()
                .find_map(|l| l.trim().strip_prefix("Access:"))
                .map(|a| a.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no private key {label} on the token: {text}"))
}

/// Keys generated in the token and keys made by openssl and imported both get credentials.
#[test]
fn credential_process_signs_with_generated_and_imported_keys() {
    let token = Token::new();
    // The fixture really holds both kinds: CKA_LOCAL and never-extractable only when generated.
    let generated = private_key_access(&token, "ec384");
    assert!(
        generated.contains("never extractable") && generated.contains("local"),
        "{generated}"
    );
    let imported = private_key_access(&token, "ec384-imported");
    assert!(imported.contains("sensitive"), "{imported}");
    assert!(
        !imported.contains("local") && !imported.contains("never extractable"),
        "{imported}"
    );

    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &token.ca(), &[]);
    for (object, subject) in [
        ("ec384", "softhsm-ec384-02"),
        ("ec384-imported", "softhsm-ec384-imported-08"),
    ] {
        let uri = token.uri(object);
        let output = token
            .credential_process_against(&endpoint)
            .key_pair(&uri, &uri)
            .pkcs11_lib(&token.module)
            .output();
        let doc = parse_credential_process(&output);
        let record = endpoint.records().pop().unwrap();
        assert_eq!(record["outcome"], "issued", "{object}: {record}");
        assert_eq!(record["verified"], true, "{object}: {record}");
        assert_eq!(record["access_key_id"], doc["AccessKeyId"], "{object}");
        assert_eq!(record["algorithm"], "AWS4-X509-ECDSA-SHA256", "{object}");
        assert_eq!(record["key"], "EC P-384", "{object}: {record}");
        assert!(
            record["leaf_subject"]
                .as_str()
                .is_some_and(|s| s.contains(subject)),
            "{object}: {record}"
        );
    }

    // The imported key with only its certificate's URI (the key by CKA_ID) and the certificate
    // file openssl issued for it: the token signs with exactly the key made outside it.
    let cert_file = token.path("ec384-imported.crt.pem");
    let cert_uri = format!("pkcs11:token={};id=%08;type=cert", token.label);
    for certificate in [cert_uri.as_str(), cert_file.to_str().unwrap()] {
        let output = token
            .credential_process_against(&endpoint)
            .certificate(certificate)
            .private_key(format!(
                "pkcs11:token={};object=ec384-imported",
                token.label
            ))
            .pkcs11_lib(&token.module)
            .output();
        let doc = parse_credential_process(&output);
        let record = endpoint.records().pop().unwrap();
        assert_eq!(record["access_key_id"], doc["AccessKeyId"], "{certificate}");
        assert_eq!(record["verified"], true, "{certificate}");
    }
    let output = token
        .command("sign-string")
        .private_key(token.uri("ec384-imported"))
        .pkcs11_lib(&token.module)
        .format("bin")
        .env("PKCS11_PIN", PIN)
        .output();
    assert!(output.status.success(), "{}", stderr(&output));
    // Checked against the public half of the openssl key file the token imported.
    let openssl_key = token.path("ec384-imported-08.key.pem");
    let public = openssl(&["pkey", "-pubout", "-in"], &[&openssl_key]).stdout;
    let leaf_public = openssl(&["x509", "-pubkey", "-noout", "-in"], &[&cert_file]).stdout;
    assert_eq!(
        public, leaf_public,
        "the certificate is for the imported key"
    );
    assert_openssl_verifies(&token, &cert_file, &output.stdout, "SHA256");
}

const BOTOCORE_RESOLVE: &str = r#"
import datetime, json, botocore.session
session = botocore.session.Session(profile="token")
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

/// botocore resolves a `credential_process` profile whose key is a `pkcs11:` URI and gets exactly
/// the credentials the endpoint issued.
#[test]
fn botocore_gets_credentials_through_credential_process_with_a_token_key() {
    let python = python_with_botocore();
    let token = Token::new();
    let pki = Pki::new();
    let endpoint = LocalEndpoint::start(&pki, &token.ca(), &[]);
    let pin_file = token.path("botocore-pin.txt");
    std::fs::write(&pin_file, format!("{PIN}\n")).unwrap();
    let cases = [
        // Generated in the token; the PIN from $PKCS11_PIN, inherited through botocore.
        (
            "ec256",
            format!("--certificate '{}'", token.uri("ec256")),
            Some(PIN),
            "AWS4-X509-ECDSA-SHA256",
        ),
        (
            "rsa2048",
            format!(
                "--certificate '{0}' --private-key '{0}'",
                token.uri("rsa2048")
            ),
            Some(PIN),
            "AWS4-X509-RSA-SHA256",
        ),
        // Imported; the PIN from a pin-source file named in the URI, no PIN in the environment.
        (
            "ec384-imported",
            format!(
                "--certificate '{}?pin-source={}'",
                token.uri("ec384-imported"),
                pin_file.display()
            ),
            None,
            "AWS4-X509-ECDSA-SHA256",
        ),
    ];
    for (name, key_args, pin, algorithm) in cases {
        let config = token.path(&format!("aws-config-{name}"));
        std::fs::write(
            &config,
            format!(
                "[profile token]\nregion = us-east-1\ncredential_process = {BIN} credential-process {key_args} --pkcs11-lib {} --trust-anchor-arn {TRUST_ANCHOR_ARN} --profile-arn {PROFILE_ARN} --role-arn {ROLE_ARN} --endpoint {}\n",
                token.module, endpoint.url
            ),
        )
        .unwrap();
        let before = endpoint.records().len();
        let mut command = Command::new(&python);
        command
            .args(["-c", BOTOCORE_RESOLVE])
            .env("AWS_CONFIG_FILE", &config)
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                token.path("no-such-credentials-file"),
            )
            .env("AWS_CA_BUNDLE", &endpoint.tls_ca)
            .env("SOFTHSM2_CONF", &token.conf)
            .env("RAH_TEST_P11_KIT_PROXY", &token.default_module)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("PKCS11_PIN")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_ENDPOINT_URL_ROLESANYWHERE")
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy");
        if let Some(pin) = pin {
            command.env("PKCS11_PIN", pin);
        }
        let output = run_bounded(&mut command, Duration::from_secs(60));
        assert!(
            output.status.success(),
            "botocore, {name}: {}",
            stderr(&output)
        );
        let resolved: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(resolved["method"], "custom-process", "{name}");
        let records = endpoint.records();
        assert_eq!(records.len(), before + 1, "{name}: one CreateSession");
        let record = records.last().unwrap();
        assert_eq!(record["outcome"], "issued", "{name}: {record}");
        assert_eq!(record["verified"], true, "{name}: {record}");
        assert_eq!(record["algorithm"], algorithm, "{name}");
        assert_eq!(
            resolved["access_key"], record["access_key_id"],
            "{name}: exactly the issued credentials"
        );
        assert!(
            resolved["secret_key"]
                .as_str()
                .is_some_and(|s| s.len() >= 40),
            "{name}"
        );
        assert!(
            resolved["token"].as_str().is_some_and(|s| !s.is_empty()),
            "{name}"
        );
        let seconds_left = resolved["seconds_left"].as_f64().unwrap();
        assert!(
            seconds_left > 3000.0 && seconds_left <= 3600.0,
            "{name}: botocore parsed the expiration: {seconds_left}"
        );
    }
}
