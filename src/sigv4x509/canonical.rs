//! The SigV4 canonical forms: encoding, canonical request, string to sign, credential scope and
//! the `Authorization` header. Pure functions of their inputs.

use time::OffsetDateTime;

/// The service name in the credential scope.
pub const SERVICE: &str = "rolesanywhere";

/// Percent-encodes as SigV4 requires (RFC 3986: everything but `A-Z a-z 0-9 - _ . ~` is encoded,
/// upper-case hex). `/` is kept when `keep_slash` (paths) and encoded otherwise (query parts).
pub fn uri_encode(input: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(input.len() * 3);
    for byte in input.bytes() {
        let unreserved = byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~');
        if unreserved || (keep_slash && byte == b'/') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The canonical URI of a raw (not yet encoded) path. With `normalize`, `.`/`..` segments and
/// repeated slashes are removed first, as every AWS service but S3 expects.
pub fn canonical_uri(path: &str, normalize: bool) -> String {
    if path.is_empty() {
        return "/".to_string();
    }
    if !normalize {
        return uri_encode(path, true);
    }
    let mut segments: Vec<&str> = Vec::new();
    for segment in path.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    let mut normalized = String::from("/");
    normalized.push_str(&segments.join("/"));
    if path.ends_with('/') && !segments.is_empty() {
        normalized.push('/');
    }
    uri_encode(&normalized, true)
}

/// The canonical query string of decoded `(name, value)` pairs: each part encoded, then sorted
/// by name and value.
pub fn canonical_query(params: &[(String, String)]) -> String {
    let mut encoded: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (uri_encode(k, false), uri_encode(v, false)))
        .collect();
    encoded.sort();
    encoded
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("&")
}

/// The canonical header block (each line `name:value\n`) and the `SignedHeaders` list.
///
/// Names are lower-cased and sorted; values are trimmed and runs of white space folded to one
/// space; repeated headers are joined with `,` in the order given.
pub fn canonical_headers(headers: &[(String, String)]) -> (String, String) {
    let mut merged: Vec<(String, String)> = Vec::new();
    for (name, value) in headers {
        let name = name.trim().to_ascii_lowercase();
        let value = value.split_ascii_whitespace().collect::<Vec<_>>().join(" ");
        match merged.iter_mut().find(|(n, _)| *n == name) {
            Some((_, existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            None => merged.push((name, value)),
        }
    }
    merged.sort_by(|a, b| a.0.cmp(&b.0));
    let block = merged
        .iter()
        .map(|(n, v)| format!("{n}:{v}\n"))
        .collect::<String>();
    let signed = merged
        .iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(";");
    (block, signed)
}

/// Lower-case hex SHA-256 of `data`.
pub fn hex_sha256(data: &[u8]) -> String {
    // ring's, whose CPU feature detection loading the key has done already: sha2's would run
    // its own cpuid instructions, each a few microseconds under a hypervisor.
    hex::encode(ring::digest::digest(&ring::digest::SHA256, data))
}

/// The canonical request: method, URI, query, headers, signed headers and payload hash.
pub fn canonical_request(
    method: &str,
    canonical_uri: &str,
    canonical_query: &str,
    canonical_headers: &str,
    signed_headers: &str,
    payload_hash: &str,
) -> String {
    format!(
        "{method}\n{canonical_uri}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{payload_hash}"
    )
}

/// `YYYYMMDD/<region>/<service>/aws4_request`.
pub fn credential_scope(date: &str, region: &str, service: &str) -> String {
    format!("{date}/{region}/{service}/aws4_request")
}

/// The string to sign: algorithm, request time, scope and the hash of the canonical request.
pub fn string_to_sign(
    algorithm: &str,
    amz_date: &str,
    scope: &str,
    canonical_request: &str,
) -> String {
    format!(
        "{algorithm}\n{amz_date}\n{scope}\n{}",
        hex_sha256(canonical_request.as_bytes())
    )
}

/// The `X-Amz-Date` form of a time (`YYYYMMDDTHHMMSSZ`, UTC) and its date part.
pub fn amz_date(time: OffsetDateTime) -> (String, String) {
    let t = time.to_offset(time::UtcOffset::UTC);
    let date = format!("{:04}{:02}{:02}", t.year(), u8::from(t.month()), t.day());
    let stamp = format!("{date}T{:02}{:02}{:02}Z", t.hour(), t.minute(), t.second());
    (stamp, date)
}

/// The `Authorization` header value. The credential is the certificate serial in decimal.
pub fn authorization(
    algorithm: &str,
    serial_decimal: &str,
    scope: &str,
    signed_headers: &str,
    signature: &[u8],
) -> String {
    format!(
        "{algorithm} Credential={serial_decimal}/{scope}, SignedHeaders={signed_headers}, Signature={}",
        hex::encode(signature)
    )
}
