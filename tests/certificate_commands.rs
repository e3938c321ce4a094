//! sign-string, read-certificate-data, version and completion: outputs as AWS's helper 1.8 prints
//! them, checked with the openssl command line.

mod common;

use std::path::Path;

use common::*;
use rolesanywhere_testbed::pki::KeyKind;
use sha2::{Digest, Sha256};

/// The message sign-string signs, built here from the openssl view of the public key.
fn signing_test_message(pki: &Pki, leaf: &Leaf, name: &str) -> Vec<u8> {
    let public_der = pki.path(&format!("{name}.pub.der"));
    let key_bytes = if matches!(leaf.key_kind, KeyKind::Rsa(_)) {
        // PKCS#1 RSAPublicKey DER.
        openssl(
            &["rsa", "-RSAPublicKey_out", "-outform", "DER", "-in"],
            &[&leaf.key, Path::new("-out"), &public_der],
        );
        std::fs::read(&public_der).unwrap()
    } else {
        // The uncompressed point: the tail of the SPKI DER (BIT STRING contents after the 0 pad).
        openssl(
            &["pkey", "-pubout", "-outform", "DER", "-in"],
            &[&leaf.key, Path::new("-out"), &public_der],
        );
        let spki = std::fs::read(&public_der).unwrap();
        let point_len = match leaf.key_kind {
            KeyKind::EcP256 => 65,
            KeyKind::EcP384 => 97,
            _ => 133,
        };
        spki[spki.len() - point_len..].to_vec()
    };
    let mut keyed = b"IAM RA".to_vec();
    keyed.extend_from_slice(&key_bytes);
    let mut message = b"AWS Roles Anywhere Credential Helper Signing Test1".to_vec();
    message.extend_from_slice(&Sha256::digest(&keyed));
    message
}

#[test]
fn sign_string_signatures_verify_with_openssl_in_every_format_and_digest() {
    let pki = Pki::new();
    for (name, kind) in [
        ("ec256", KeyKind::EcP256),
        ("ec384", KeyKind::EcP384),
        ("rsa2048", KeyKind::Rsa(2048)),
    ] {
        let leaf = pki.leaf(name, kind);
        let message_path = pki.path(&format!("{name}.msg"));
        std::fs::write(&message_path, signing_test_message(&pki, &leaf, name)).unwrap();
        let pub_pem = pki.path(&format!("{name}.pub.pem"));
        openssl(
            &["x509", "-noout", "-pubkey", "-in"],
            &[&leaf.cert, Path::new("-out"), &pub_pem],
        );
        for (digest, openssl_digest) in [
            ("SHA256", "-sha256"),
            ("SHA384", "-sha384"),
            ("SHA512", "-sha512"),
        ] {
            let files = leaf_args(&leaf);
            let mut args = vec!["sign-string", "--digest", digest, "--format", "bin"];
            args.extend(strs(&files));
            let output = helper(&args, &[]);
            assert!(
                output.status.success(),
                "{name} {digest}: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            let sig_path = pki.path(&format!("{name}-{digest}.sig"));
            std::fs::write(&sig_path, &output.stdout).unwrap();
            let verified = openssl(
                &["dgst", openssl_digest, "-verify"],
                &[&pub_pem, Path::new("-signature"), &sig_path, &message_path],
            );
            assert_eq!(
                String::from_utf8_lossy(&verified.stdout).trim(),
                "Verified OK",
                "{name} {digest}"
            );
        }
        // json: a quoted lower-case hex string; text: the bare hex; neither with a newline.
        let key = leaf.key.to_str().unwrap();
        let text = helper(
            &["sign-string", "--private-key", key, "--format", "text"],
            &[],
        );
        assert!(text.status.success());
        let hex_text = String::from_utf8(text.stdout).unwrap();
        assert!(
            hex_text
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "{hex_text}"
        );
        let json = helper(&["sign-string", "--private-key", key], &[]);
        let json_text = String::from_utf8(json.stdout).unwrap();
        assert!(
            json_text.starts_with('"') && json_text.ends_with('"') && !json_text.contains('\n'),
            "{json_text}"
        );
        if matches!(kind, KeyKind::Rsa(_)) {
            // PKCS#1 v1.5 is deterministic: json and text carry the same signature.
            assert_eq!(json_text.trim_matches('"'), hex_text);
        }
    }
}

#[test]
fn sign_string_rejects_bad_flags_and_mismatched_keys() {
    let pki = Pki::new();
    let leaf = pki.leaf("a", KeyKind::EcP256);
    let other = pki.leaf("b", KeyKind::EcP256);
    let bad_digest = helper(
        &[
            "sign-string",
            "--private-key",
            leaf.key.to_str().unwrap(),
            "--digest",
            "sha256",
        ],
        &[],
    );
    assert_clean_failure(&bad_digest, 2, "one of SHA256, SHA384, SHA512");
    assert_clean_failure(
        &helper(&["credential-process", "--no-such-flag"], &[]),
        2,
        "--no-such-flag",
    );
    let mismatch = helper(
        &[
            "sign-string",
            "--certificate",
            leaf.cert.to_str().unwrap(),
            "--private-key",
            other.key.to_str().unwrap(),
        ],
        &[],
    );
    assert_clean_failure(&mismatch, 3, "does not match");
}

#[test]
fn read_certificate_data_prints_what_aws_helper_prints() {
    let pki = Pki::new();
    for (name, kind, key_type) in [
        ("ec", KeyKind::EcP256, "EC"),
        ("rsa", KeyKind::Rsa(2048), "RSA"),
    ] {
        let leaf = pki.leaf(name, kind);
        let output = helper(
            &[
                "read-certificate-data",
                "--certificate",
                leaf.cert.to_str().unwrap(),
            ],
            &[],
        );
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8(output.stdout).unwrap();
        assert!(!text.ends_with('\n'));
        assert!(
            text.starts_with(r#"{"keyType":"#),
            "field order as AWS's helper: {text}"
        );
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["keyType"], key_type);
        assert_eq!(
            doc["supportedAlgorithms"],
            serde_json::json!([
                format!("{key_type}SHA256"),
                format!("{key_type}SHA384"),
                format!("{key_type}SHA512")
            ])
        );
        let der_path = pki.path(&format!("{name}.der"));
        openssl(
            &["x509", "-outform", "DER", "-in"],
            &[&leaf.cert, Path::new("-out"), &der_path],
        );
        use base64::Engine as _;
        assert_eq!(
            doc["certificateData"],
            base64::engine::general_purpose::STANDARD.encode(std::fs::read(&der_path).unwrap())
        );
        // openssl prints the serial in hex; the helper in decimal.
        let serial =
            String::from_utf8(openssl(&["x509", "-noout", "-serial", "-in"], &[&leaf.cert]).stdout)
                .unwrap();
        let serial_hex = serial.trim().trim_start_matches("serial=");
        let decimal = doc["serialNumber"].as_str().unwrap();
        assert!(decimal.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(
            u128::from_str_radix(serial_hex, 16).unwrap().to_string(),
            decimal
        );
    }
    let missing = helper(
        &[
            "read-certificate-data",
            "--certificate",
            "/nonexistent/cert.pem",
        ],
        &[],
    );
    assert_clean_failure(&missing, 3, "no such file");
}

#[test]
fn version_and_completion() {
    let version = helper(&["version"], &[]);
    assert!(version.status.success());
    assert_eq!(
        String::from_utf8(version.stdout).unwrap(),
        format!("{}\n", env!("CARGO_PKG_VERSION"))
    );
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let completion = helper(&["completion", shell], &[]);
        assert!(completion.status.success(), "{shell}");
        assert!(
            String::from_utf8_lossy(&completion.stdout).contains("credential-process"),
            "{shell}"
        );
    }
}
