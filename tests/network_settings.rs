//! Where requests go: the endpoint environment variable and `--endpoint`, and proxies. Only
//! loopback traffic: a "proxy" here is a local listener that records the CONNECT it receives.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::Duration;

use crate::support::testbed::KeyKind;
use crate::support::*;

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

/// A TCP relay on `ip` to `target` that counts the connections it accepts: each is one TLS
/// handshake the helper tried.
fn counting_relay(
    ip: &str,
    target: std::net::SocketAddr,
) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let listener = TcpListener::bind((ip, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = std::sync::Arc::new(AtomicUsize::new(0));
    let counted = count.clone();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(client) = client else { return };
            counted.fetch_add(1, Ordering::SeqCst);
            let Ok(server) = std::net::TcpStream::connect(target) else {
                continue;
            };
            for (mut from, mut to) in [
                (client.try_clone().unwrap(), server.try_clone().unwrap()),
                (server, client),
            ] {
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut from, &mut to);
                    let _ = to.shutdown(std::net::Shutdown::Write);
                });
            }
        }
    });
    (port, count)
}

#[test]
fn an_untrusted_server_certificate_fails_after_one_attempt_naming_aws_ca_bundle_and_doctor() {
    let pki = Pki::new();
    let leaf = pki.leaf("leaf", KeyKind::EcP256);
    let endpoint = InProcessEndpoint::start(&pki);
    let target: std::net::SocketAddr = endpoint
        .url()
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .parse()
        .unwrap();
    // (case, the relay's address, AWS_CA_BUNDLE, rustls's reason)
    let cases = [
        (
            "a private CA not in AWS_CA_BUNDLE",
            "127.0.0.1",
            None,
            "UnknownIssuer",
        ),
        (
            "a certificate for another name",
            "127.0.0.2",
            Some(endpoint.tls_ca()),
            "not valid for name",
        ),
    ];
    let mut table = Table::new("untrusted certificates");
    for (case, ip, bundle, reason) in cases {
        table.row(case, || {
            let (port, connections) = counting_relay(ip, target);
            let mut helper = Helper::command("credential-process")
                .leaf(&leaf)
                .arns()
                .args(["--endpoint", &format!("https://{ip}:{port}")])
                .env_remove("AWS_CA_BUNDLE");
            if let Some(bundle) = bundle {
                helper = helper.env("AWS_CA_BUNDLE", bundle);
            }
            let started = std::time::Instant::now();
            let output = helper.output();
            let elapsed = started.elapsed();
            assert_clean_failure(&output, 5, reason);
            let stderr = stderr(&output);
            for needle in ["not trusted", "AWS_CA_BUNDLE", "doctor", "not retried"] {
                assert!(stderr.contains(needle), "{needle:?} in {stderr}");
            }
            assert_eq!(
                connections.load(std::sync::atomic::Ordering::SeqCst),
                1,
                "one TLS handshake, no retry"
            );
            // The retries would have waited for their backoff (up to 0.4 s, then 0.8 s).
            assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
        });
    }
    table.assert_all_passed();
    assert!(endpoint.records().is_empty(), "no request got through");
}
