//! Raw HTTP/1.1 against a served port.

use std::io::{Read as _, Write as _};
use std::time::Duration;

/// An HTTP answer.
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One HTTP/1.1 request on a fresh connection, with a 10 s bound.
pub fn http(address: (&str, u16), method: &str, path: &str, headers: &[(&str, &str)]) -> Answer {
    http_within(Duration::from_secs(10), address, method, path, headers)
}

/// [`http`] with a read bound of `limit`.
pub fn http_within(
    limit: Duration,
    address: (&str, u16),
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Answer {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(limit)).unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}:{}\r\nConnection: close\r\nContent-Length: 0\r\n",
        address.0, address.1
    );
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

/// What serve's IMDS on 127.0.0.1:`port` answers for `role` now, asked as an IMDSv2 client asks
/// (a session token first): the status, the document, and for a "Success" the access key id and
/// expiry. Any other status must carry no credentials.
pub fn imds_role_credentials(
    port: u16,
    role: &str,
) -> (
    u16,
    serde_json::Value,
    Option<(String, time::OffsetDateTime)>,
) {
    let at = ("127.0.0.1", port);
    let token = http(
        at,
        "PUT",
        "/latest/api/token",
        &[("X-aws-ec2-metadata-token-ttl-seconds", "60")],
    );
    assert_eq!(token.status, 200, "{}", token.text());
    let answer = http(
        at,
        "GET",
        &format!("/latest/meta-data/iam/security-credentials/{role}"),
        &[("X-aws-ec2-metadata-token", &token.text())],
    );
    let doc = answer.json();
    if answer.status != 200 {
        assert_ne!(doc["Code"], "Success", "{doc}");
        assert!(doc.get("AccessKeyId").is_none(), "{doc}");
        return (answer.status, doc, None);
    }
    assert_eq!(doc["Code"], "Success", "{doc}");
    let expiration = time::OffsetDateTime::parse(
        doc["Expiration"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let key = doc["AccessKeyId"].as_str().unwrap().to_string();
    (200, doc, Some((key, expiration)))
}
