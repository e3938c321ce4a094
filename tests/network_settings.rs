//! Where requests go: the endpoint environment variable and `--endpoint`, and proxies. Only
//! loopback traffic: a "proxy" here is a local listener that records the CONNECT it receives.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use common::*;
use rolesanywhere_testbed::pki::KeyKind;

/// A listener that answers every connection with 502 and reports each request line it read.
fn fake_proxy() -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut line = String::new();
            let _ = BufReader::new(&stream).read_line(&mut line);
            let _ = stream.write_all(
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
            if sender.send(line.trim_end().to_string()).is_err() {
                return;
            }
        }
    });
    (url, receiver)
}

fn base_args(leaf: &Leaf) -> Vec<String> {
    credential_process_args(None, &strs(&leaf_args(leaf)))
}

#[test]
fn https_proxy_carries_requests_to_aws_but_never_loopback_ones() {
    let pki = Pki::new();
    let leaf = pki.leaf("leaf", KeyKind::EcP256);
    let (proxy, connects) = fake_proxy();

    // The regional AWS endpoint goes through the proxy, which refuses: nothing leaves this machine.
    let args = base_args(&leaf);
    let output = helper(&strs(&args), &[("HTTPS_PROXY", &proxy), ("NO_PROXY", "")]);
    assert_eq!(
        output.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.stdout.is_empty());
    let first = connects
        .recv_timeout(Duration::from_secs(10))
        .expect("the proxy saw a request");
    assert_eq!(
        first,
        "CONNECT rolesanywhere.us-east-1.amazonaws.com:443 HTTP/1.1"
    );
    // Every attempt, the first included (it may open its own connection only when no proxy
    // applies), went through the proxy.
    let mut attempts = 1;
    while connects.recv_timeout(Duration::from_millis(200)).is_ok() {
        attempts += 1;
    }
    assert_eq!(attempts, 3, "attempts through the proxy");

    // A loopback endpoint is reached directly even with a proxy set.
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let mut args = base_args(&leaf);
    args.extend(["--endpoint".to_string(), endpoint.url.clone()]);
    let output = helper(
        &strs(&args),
        &[
            ("HTTPS_PROXY", &proxy),
            ("AWS_CA_BUNDLE", endpoint.tls_ca.to_str().unwrap()),
        ],
    );
    parse_credential_process(&output);
    while let Ok(line) = connects.try_recv() {
        assert!(
            line.contains("amazonaws.com"),
            "a loopback request went through the proxy: {line}"
        );
    }
}

#[test]
fn endpoint_comes_from_the_environment_unless_given_on_the_command_line() {
    let pki = Pki::new();
    let leaf = pki.leaf("leaf", KeyKind::EcP256);
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let ca = endpoint.tls_ca.to_str().unwrap();

    let args = base_args(&leaf);
    let from_env = helper(
        &strs(&args),
        &[
            ("AWS_ENDPOINT_URL_ROLESANYWHERE", &endpoint.url),
            ("AWS_CA_BUNDLE", ca),
        ],
    );
    parse_credential_process(&from_env);

    // --endpoint wins over the variable, which points nowhere.
    let closed = format!(
        "https://127.0.0.1:{}",
        TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    );
    let mut args = base_args(&leaf);
    args.extend(["--endpoint".to_string(), endpoint.url.clone()]);
    let explicit = helper(
        &strs(&args),
        &[
            ("AWS_ENDPOINT_URL_ROLESANYWHERE", &closed),
            ("AWS_CA_BUNDLE", ca),
        ],
    );
    parse_credential_process(&explicit);
    assert_eq!(endpoint.records().len(), 2);
}

#[test]
fn tls_is_verified_unless_told_not_to() {
    let pki = Pki::new();
    let leaf = pki.leaf("leaf", KeyKind::EcP256);
    let endpoint = LocalEndpoint::start(&pki, &pki.root_pem, &[]);
    let mut args = base_args(&leaf);
    args.extend(["--endpoint".to_string(), endpoint.url.clone()]);
    // Without AWS_CA_BUNDLE the endpoint's throwaway TLS CA is unknown.
    let untrusted = helper(&strs(&args), &[]);
    assert_clean_failure(&untrusted, 5, "certificate");
    args.push("--no-verify-ssl".to_string());
    parse_credential_process(&helper(&strs(&args), &[]));
}
