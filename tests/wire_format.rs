//! An independent check of what goes on the wire: a bare TCP listener captures the request the
//! binary sends, this test rebuilds the string to sign from the raw bytes by itself, and the
//! openssl command line verifies the signature against the certificate's public key.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;

use crate::support::testbed::KeyKind;
use crate::support::*;
use sha2::{Digest, Sha256};

struct Captured {
    request_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// Accepts one connection, reads one HTTP/1.1 request and answers 201 with fixed credentials.
fn capture_one(listener: TcpListener) -> std::thread::JoinHandle<Captured> {
    std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut request_line = String::new();
        reader.read_line(&mut request_line).unwrap();
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end_matches(['\r', '\n']);
            if line.is_empty() {
                break;
            }
            let (name, value) = line.split_once(':').unwrap();
            headers.push((name.to_string(), value.trim().to_string()));
        }
        let length: usize = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
            .unwrap()
            .1
            .parse()
            .unwrap();
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let answer = br#"{"credentialSet":[{"credentials":{"accessKeyId":"ASIAWIRETEST0001","secretAccessKey":"wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY00","sessionToken":"IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ==","expiration":"2030-01-01T00:00:00Z"}}]}"#;
        let mut stream = stream;
        write!(stream, "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", answer.len()).unwrap();
        stream.write_all(answer).unwrap();
        Captured {
            request_line: request_line.trim_end().to_string(),
            headers,
            body,
        }
    })
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn check_wire_format(kind: KeyKind, name: &str) {
    let pki = Pki::new();
    let leaf = pki.leaf(name, kind);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = capture_one(listener);
    let url = format!("http://127.0.0.1:{port}");
    let files = leaf_args(&leaf);
    let extra = [strs(&files), vec!["--role-session-name", "wire-test"]].concat();
    let output = helper(&strs(&credential_process_args(Some(&url), &extra)), &[]);
    let doc = parse_credential_process(&output);
    assert_eq!(doc["AccessKeyId"], "ASIAWIRETEST0001");
    let captured = server.join().unwrap();

    // The request as DESIGN §1 describes it.
    let expected_query = format!(
        "profileArn={}&roleArn={}&trustAnchorArn={}",
        encode(PROFILE_ARN),
        encode(ROLE_ARN),
        encode(TRUST_ANCHOR_ARN)
    );
    assert_eq!(
        captured.request_line,
        format!("POST /sessions?{expected_query} HTTP/1.1")
    );
    assert_eq!(
        captured.body,
        br#"{"durationSeconds":3600,"roleSessionName":"wire-test"}"#
    );
    let header = |name: &str| {
        captured
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("no {name} header"))
    };
    assert_eq!(header("host"), format!("127.0.0.1:{port}"));
    assert_eq!(header("content-type"), "application/json");
    use base64::Engine as _;
    let leaf_der = base64::engine::general_purpose::STANDARD
        .decode(header("x-amz-x509"))
        .unwrap();
    let authorization = header("authorization");
    let (algorithm, rest) = authorization.split_once(' ').unwrap();
    let fields: std::collections::HashMap<&str, &str> = rest
        .split(", ")
        .map(|f| f.split_once('=').unwrap())
        .collect();
    let signed_headers = fields["SignedHeaders"];
    assert_eq!(signed_headers, "content-type;host;x-amz-date;x-amz-x509");
    let amz_date = header("x-amz-date");
    let scope = format!("{}/us-east-1/rolesanywhere/aws4_request", &amz_date[..8]);

    // The serial in the credential is the certificate's, in decimal (openssl prints hex).
    let cert_der_path = pki.path(&format!("{name}.der"));
    std::fs::write(&cert_der_path, &leaf_der).unwrap();
    let serial_hex = String::from_utf8(
        openssl(
            &["x509", "-inform", "DER", "-noout", "-serial", "-in"],
            &[&cert_der_path],
        )
        .stdout,
    )
    .unwrap();
    let serial_hex = serial_hex.trim().trim_start_matches("serial=");
    let serial_decimal = decimal_from_hex(serial_hex);
    assert_eq!(fields["Credential"], format!("{serial_decimal}/{scope}"));

    // Rebuild the string to sign from the captured bytes.
    let canonical_headers: String = signed_headers
        .split(';')
        .map(|n| format!("{n}:{}\n", header(n)))
        .collect();
    let canonical = format!(
        "POST\n/sessions\n{expected_query}\n{canonical_headers}\n{signed_headers}\n{}",
        hex::encode(Sha256::digest(&captured.body))
    );
    let string_to_sign = format!(
        "{algorithm}\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let expected_algorithm = if matches!(kind, KeyKind::Rsa(_)) {
        "AWS4-X509-RSA-SHA256"
    } else {
        "AWS4-X509-ECDSA-SHA256"
    };
    assert_eq!(algorithm, expected_algorithm);

    let sts_path = pki.path(&format!("{name}.sts"));
    std::fs::write(&sts_path, &string_to_sign).unwrap();
    let sig_path = pki.path(&format!("{name}.sig"));
    std::fs::write(&sig_path, hex::decode(fields["Signature"]).unwrap()).unwrap();
    let pub_path = pki.path(&format!("{name}.certpub.pem"));
    openssl(
        &["x509", "-inform", "DER", "-noout", "-pubkey", "-in"],
        &[&cert_der_path, Path::new("-out"), &pub_path],
    );
    let verified = openssl(
        &["dgst", "-sha256", "-verify"],
        &[&pub_path, Path::new("-signature"), &sig_path, &sts_path],
    );
    assert_eq!(
        String::from_utf8_lossy(&verified.stdout).trim(),
        "Verified OK"
    );
}

fn decimal_from_hex(hex_digits: &str) -> String {
    // Long division of a big hex number by 10, digit by digit.
    let mut digits: Vec<u32> = hex_digits
        .chars()
        .map(|c| c.to_digit(16).unwrap())
        .collect();
    let mut decimal = Vec::new();
    while digits.iter().any(|&d| d != 0) {
        let mut remainder = 0;
        for d in digits.iter_mut() {
            let value = remainder * 16 + *d;
            *d = value / 10;
            remainder = value % 10;
        }
        decimal.push(char::from_digit(remainder, 10).unwrap());
    }
    if decimal.is_empty() {
        "0".into()
    } else {
        decimal.iter().rev().collect()
    }
}

#[test]
fn openssl_verifies_an_rsa_request_rebuilt_from_the_wire() {
    check_wire_format(KeyKind::Rsa(2048), "rsa2048");
}

#[test]
fn openssl_verifies_an_ec_p256_request_rebuilt_from_the_wire() {
    check_wire_format(KeyKind::EcP256, "ec256");
}

#[test]
fn openssl_verifies_an_ec_p384_request_rebuilt_from_the_wire() {
    check_wire_format(KeyKind::EcP384, "ec384");
}

#[test]
fn openssl_verifies_an_ec_p521_request_rebuilt_from_the_wire() {
    check_wire_format(KeyKind::EcP521, "ec521");
}
