//! SigV4-X509 signing of the CreateSession request: canonical request, string to sign and
//! `Authorization` header, as IAM Roles Anywhere verifies them (DESIGN §1).
//!
//! Pure: no I/O and no clock. The time is passed in and the signature comes from a [`Signer`].

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::identity::{Digest, Signer};

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

/// What CreateSession is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateSessionParams {
    pub trust_anchor_arn: String,
    pub profile_arn: String,
    pub role_arn: String,
    pub duration_seconds: u32,
    pub role_session_name: Option<String>,
}

/// The certificate material that goes on the wire.
#[derive(Debug, Clone, Copy)]
pub struct SigningIdentity<'a> {
    /// DER of the leaf certificate (`X-Amz-X509`).
    pub leaf_der: &'a [u8],
    /// DER of the intermediates, in the order given (`X-Amz-X509-Chain`), never the leaf.
    pub chain_der: &'a [Vec<u8>],
    /// The leaf's serial number in decimal.
    pub serial_decimal: &'a str,
}

/// A signed CreateSession request, ready for any HTTP client.
#[derive(Debug, Clone)]
pub struct SignedRequest {
    /// `/sessions?…`
    pub path_and_query: String,
    /// Every header to send, `Host` first, `Authorization` last.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Kept for `--debug` traces and tests; neither holds a secret.
    pub canonical_request: String,
    pub string_to_sign: String,
}

/// Builds and signs the CreateSession request for `host` (with `:port` when not 443).
pub fn sign_create_session(
    params: &CreateSessionParams,
    host: &str,
    region: &str,
    identity: SigningIdentity<'_>,
    now: OffsetDateTime,
    signer: &dyn Signer,
) -> Result<SignedRequest> {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;

    let query = vec![
        ("profileArn".to_string(), params.profile_arn.clone()),
        ("roleArn".to_string(), params.role_arn.clone()),
        (
            "trustAnchorArn".to_string(),
            params.trust_anchor_arn.clone(),
        ),
    ];
    let canonical_query = canonical_query(&query);

    let mut body = serde_json::Map::new();
    body.insert("durationSeconds".into(), params.duration_seconds.into());
    if let Some(name) = &params.role_session_name {
        body.insert("roleSessionName".into(), name.clone().into());
    }
    let body =
        serde_json::to_vec(&body).map_err(|e| Error::Internal(format!("request body: {e}")))?;

    let (amz_date, date) = amz_date(now);
    let mut headers = vec![
        ("Host".to_string(), host.to_string()),
        ("Content-Type".to_string(), "application/json".to_string()),
        ("X-Amz-Date".to_string(), amz_date.clone()),
        ("X-Amz-X509".to_string(), b64.encode(identity.leaf_der)),
    ];
    if !identity.chain_der.is_empty() {
        let chain = identity
            .chain_der
            .iter()
            .map(|der| b64.encode(der))
            .collect::<Vec<_>>();
        headers.push(("X-Amz-X509-Chain".to_string(), chain.join(",")));
    }

    let (header_block, signed_headers) = canonical_headers(&headers);
    let canonical_request = canonical_request(
        "POST",
        "/sessions",
        &canonical_query,
        &header_block,
        &signed_headers,
        &hex_sha256(&body),
    );
    let algorithm = signer.algorithm().sigv4_algorithm();
    let scope = credential_scope(&date, region, SERVICE);
    let string_to_sign = string_to_sign(algorithm, &amz_date, &scope, &canonical_request);
    let signature = signer.sign(string_to_sign.as_bytes(), Digest::Sha256)?;
    headers.push((
        "Authorization".to_string(),
        authorization(
            algorithm,
            identity.serial_decimal,
            &scope,
            &signed_headers,
            &signature,
        ),
    ));

    Ok(SignedRequest {
        path_and_query: format!("/sessions?{canonical_query}"),
        headers,
        body,
        canonical_request,
        string_to_sign,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_rfc3986() {
        assert_eq!(
            uri_encode("arn:aws:iam::1:role/x y", false),
            "arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fx%20y"
        );
        assert_eq!(uri_encode("/a b/c~", true), "/a%20b/c~");
        assert_eq!(uri_encode("ሴ", false), "%E1%88%B4");
    }

    #[test]
    fn normalizes_paths() {
        assert_eq!(canonical_uri("/./", true), "/");
        assert_eq!(canonical_uri("/./", false), "/./");
        assert_eq!(canonical_uri("//example//", true), "/example/");
        assert_eq!(canonical_uri("/example/..", true), "/");
        assert_eq!(canonical_uri("/a/b/../c", true), "/a/c");
        assert_eq!(canonical_uri("", true), "/");
    }

    #[test]
    fn folds_and_merges_headers() {
        let headers = vec![
            ("My-Header1".to_string(), "  a   b  ".to_string()),
            ("host".to_string(), "x".to_string()),
            ("my-header1".to_string(), "c".to_string()),
        ];
        let (block, signed) = canonical_headers(&headers);
        assert_eq!(block, "host:x\nmy-header1:a b,c\n");
        assert_eq!(signed, "host;my-header1");
    }

    #[test]
    fn formats_amz_date() {
        let t = time::macros::datetime!(2015-08-30 12:36:00 UTC);
        assert_eq!(
            amz_date(t),
            ("20150830T123600Z".to_string(), "20150830".to_string())
        );
        let shifted = time::macros::datetime!(2015-08-30 23:36:00 -2);
        assert_eq!(amz_date(shifted).0, "20150831T013600Z");
    }

    /// The fixed RSA key and certificate in `certs/`.
    fn kat_key_and_certificate() -> (
        crate::identity::key_file::FileKey,
        crate::identity::certificate::Certificate,
    ) {
        let key = crate::identity::key_file::parse(
            include_bytes!("../../certs/kat-rsa2048.key"),
            "kat key",
        )
        .unwrap();
        let cert = crate::identity::certificate::parse_bundle(
            include_bytes!("../../certs/kat-rsa2048.pem"),
            "kat cert",
        )
        .unwrap()
        .remove(0);
        (key, cert)
    }

    /// The whole request for a fixed RSA key, certificate and time, against answers computed by
    /// `certs/make-kat.py` with Python and the openssl command line.
    #[test]
    fn rsa_known_answer_matches_an_independent_implementation() {
        let expected: serde_json::Value =
            serde_json::from_str(include_str!("../../certs/kat-rsa2048.expected.json")).unwrap();
        let (key, cert) = kat_key_and_certificate();
        let text = |k: &str| expected[k].as_str().unwrap().to_string();
        let params = CreateSessionParams {
            trust_anchor_arn: text("trustAnchorArn"),
            profile_arn: text("profileArn"),
            role_arn: text("roleArn"),
            duration_seconds: 3600,
            role_session_name: None,
        };
        let identity = SigningIdentity {
            leaf_der: &cert.der,
            chain_der: &[],
            serial_decimal: &cert.serial_decimal,
        };
        let now = time::macros::datetime!(2026-01-02 03:04:05 UTC);
        let signed =
            sign_create_session(&params, &text("host"), &text("region"), identity, now, &key)
                .unwrap();
        assert_eq!(signed.canonical_request, text("canonical_request"));
        assert_eq!(signed.string_to_sign, text("string_to_sign"));
        let authorization = signed
            .headers
            .iter()
            .find(|(n, _)| n == "Authorization")
            .unwrap();
        assert_eq!(authorization.1, text("authorization"));
        assert_eq!(signed.body, br#"{"durationSeconds":3600}"#);
    }

    #[test]
    fn chain_header_is_signed_and_never_holds_the_leaf() {
        let (key, cert) = kat_key_and_certificate();
        let chain = vec![vec![1u8, 2, 3], vec![4u8, 5]];
        let identity = SigningIdentity {
            leaf_der: &cert.der,
            chain_der: &chain,
            serial_decimal: "7",
        };
        let params = CreateSessionParams {
            trust_anchor_arn: "ta".into(),
            profile_arn: "p".into(),
            role_arn: "r".into(),
            duration_seconds: 900,
            role_session_name: Some("edge-1".into()),
        };
        let now = time::macros::datetime!(2026-01-02 03:04:05 UTC);
        let signed =
            sign_create_session(&params, "h:8443", "eu-west-1", identity, now, &key).unwrap();
        let header = |name: &str| {
            signed
                .headers
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(header("X-Amz-X509-Chain").as_deref(), Some("AQID,BAU="));
        assert!(
            header("Authorization").unwrap().contains(
                "SignedHeaders=content-type;host;x-amz-date;x-amz-x509;x-amz-x509-chain,"
            )
        );
        assert!(
            header("Authorization")
                .unwrap()
                .contains("Credential=7/20260102/eu-west-1/rolesanywhere/aws4_request")
        );
        assert_eq!(
            signed.body,
            br#"{"durationSeconds":900,"roleSessionName":"edge-1"}"#
        );
        assert!(signed.canonical_request.contains("\nhost:h:8443\n"));
    }
}
