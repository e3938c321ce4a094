//! Known answers: our canonical request and string to sign against AWS's official SigV4 test
//! suite, which ships inside the `aws-sigv4` crate (a dev-dependency found through `cargo metadata`,
//! never copied into this repository).

use std::path::{Path, PathBuf};

use rolesanywhere_helper::sigv4x509::{
    canonical_headers, canonical_query, canonical_request, canonical_uri, hex_sha256,
    string_to_sign,
};

fn suite_dir() -> PathBuf {
    let output = std::process::Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--manifest-path"])
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("cargo metadata JSON");
    let package = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["name"] == "aws-sigv4")
        .expect("aws-sigv4 is a dev-dependency");
    let manifest = PathBuf::from(package["manifest_path"].as_str().expect("manifest_path"));
    let dir = manifest
        .parent()
        .expect("crate dir")
        .join("aws-signing-test-suite/v4");
    assert!(
        dir.is_dir(),
        "the aws-sigv4 crate no longer ships {}",
        dir.display()
    );
    dir
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8(out).expect("utf-8 query")
}

struct Request {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn parse_request(text: &str) -> Request {
    let (head, body) = match text.split_once("\n\n") {
        Some((h, b)) => (h, b.as_bytes().to_vec()),
        None => (text.trim_end_matches('\n'), Vec::new()),
    };
    let mut lines = head.lines();
    let request_line = lines.next().expect("request line");
    let method = request_line.split(' ').next().expect("method").to_string();
    // The target may contain spaces (`/example space/`): it ends before the last " HTTP/".
    let target =
        &request_line[method.len() + 1..request_line.rfind(" HTTP/").expect("HTTP version")];
    let (path, query_text) = target.split_once('?').unwrap_or((target, ""));
    let query = query_text
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect();
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with(' ') || line.starts_with('\t') {
            let last = headers.last_mut().expect("continuation after a header");
            last.1.push(' ');
            last.1.push_str(line.trim());
        } else {
            let (name, value) = line.split_once(':').expect("header line");
            headers.push((name.to_string(), value.to_string()));
        }
    }
    Request {
        method,
        path: path.to_string(),
        query,
        headers,
        body,
    }
}

/// Cases written for single encoding of the path (`%20` stays `%20`): the aws-sigv4 crate ignores
/// them for that reason. Every other case, like every AWS service but S3, encodes the path as it is
/// on the wire once more (`%3D` becomes `%253D`). For these three the wire path is decoded first.
const SINGLE_ENCODING_CASES: &[&str] =
    &["get-space-normalized", "get-space-unnormalized", "get-utf8"];

#[test]
fn canonical_request_and_string_to_sign_match_the_official_suite() {
    let dir = suite_dir();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("suite dir")
        .map(|e| e.expect("entry").path())
        .collect();
    cases.sort();
    let mut checked = 0;
    for case in cases.iter().filter(|c| c.join("request.txt").exists()) {
        let name = case.file_name().unwrap().to_string_lossy().to_string();
        let request = parse_request(&std::fs::read_to_string(case.join("request.txt")).unwrap());
        let expected_canonical =
            std::fs::read_to_string(case.join("header-canonical-request.txt")).unwrap();
        // One case (double-encode-path) ships no string to sign: its canonical request is checked.
        let expected_sts = std::fs::read_to_string(case.join("header-string-to-sign.txt")).ok();
        let sts_lines: Vec<&str> = expected_sts
            .as_deref()
            .map(|s| s.lines().collect())
            .unwrap_or_default();
        let context: serde_json::Value = std::fs::read(case.join("context.json"))
            .ok()
            .map(|b| serde_json::from_slice(&b).expect("context.json"))
            .unwrap_or(serde_json::Value::Null);
        let normalize = context["normalize"].as_bool().unwrap_or(true);

        // The signer stamps X-Amz-Date with its own clock, which the suite fixes: from the
        // string to sign, or (double-encode-path, which ships none) the expected canonical request.
        let amz_date = match sts_lines.get(1) {
            Some(date) => date.to_string(),
            None => expected_canonical
                .lines()
                .find_map(|l| l.strip_prefix("x-amz-date:"))
                .expect("a date in the expected canonical request")
                .to_string(),
        };
        let mut headers: Vec<(String, String)> = request
            .headers
            .iter()
            .filter(|(n, _)| !n.eq_ignore_ascii_case("x-amz-date"))
            .cloned()
            .collect();
        headers.push(("X-Amz-Date".into(), amz_date));
        if context["sign_body"].as_bool() == Some(true) {
            headers.push(("X-Amz-Content-Sha256".into(), hex_sha256(&request.body)));
        }
        if let Some(token) = context["credentials"]["token"].as_str()
            && context["omit_session_token"].as_bool() != Some(true)
        {
            headers.push(("X-Amz-Security-Token".into(), token.to_string()));
        }
        let path = if SINGLE_ENCODING_CASES.contains(&name.as_str()) {
            percent_decode(&request.path)
        } else {
            request.path.clone()
        };
        let (block, signed) = canonical_headers(&headers);
        let canonical = canonical_request(
            &request.method,
            &canonical_uri(&path, normalize),
            &canonical_query(&request.query),
            &block,
            &signed,
            &hex_sha256(&request.body),
        );
        assert_eq!(
            canonical, expected_canonical,
            "canonical request of case {name}"
        );
        if let Some(expected_sts) = &expected_sts {
            let sts = string_to_sign(sts_lines[0], sts_lines[1], sts_lines[2], &canonical);
            // Some files end with a newline, which is not part of the string to sign.
            assert_eq!(
                sts,
                expected_sts.trim_end_matches('\n'),
                "string to sign of case {name}"
            );
        }
        checked += 1;
    }
    assert!(
        checked >= 35,
        "only {checked} suite cases were found in {}",
        dir.display()
    );
}
