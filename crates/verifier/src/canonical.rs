//! The verifier's own SigV4-X509 canonicalization: `Authorization` parsing, canonical query,
//! canonical headers, canonical request and string to sign, rebuilt from what was received.
//!
//! Written apart from the helper's signer (`rolesanywhere_helper::sigv4x509`) on purpose: the
//! signer and the verifier share no code (this crate does not depend on the helper's), so a
//! canonicalization bug cannot hide by being made identically on both sides.

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

/// The headers every CreateSession signature must cover.
pub const REQUIRED_SIGNED_HEADERS: &[&str] = &["content-type", "host", "x-amz-date", "x-amz-x509"];

/// A parsed `Authorization` header:
/// `<ALG> Credential=<serial>/<date>/<region>/<service>/aws4_request, SignedHeaders=<list>, Signature=<hex>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The signing algorithm, e.g. `AWS4-X509-ECDSA-SHA256`.
    pub algorithm: String,
    /// The certificate serial, in decimal.
    pub serial: String,
    /// `YYYYMMDD`.
    pub date: String,
    /// The credential scope's region.
    pub region: String,
    /// The credential scope's service (`rolesanywhere`).
    pub service: String,
    /// The credential scope's last part (`aws4_request`).
    pub terminator: String,
    /// Lower-case names, in the order given (checked sorted and unique).
    pub signed_headers: Vec<String>,
    /// The signature bytes, hex-decoded.
    pub signature: Vec<u8>,
}

impl Authorization {
    /// `<date>/<region>/<service>/<terminator>`, as it goes into the string to sign.
    pub fn scope(&self) -> String {
        format!(
            "{}/{}/{}/{}",
            self.date, self.region, self.service, self.terminator
        )
    }
}

/// Parses the `Authorization` header value. The error says what is malformed.
pub fn parse_authorization(value: &str) -> Result<Authorization, String> {
    let value = value.trim();
    let (algorithm, rest) = value.split_once(' ').ok_or_else(|| {
        "expected '<algorithm> Credential=..., SignedHeaders=..., Signature=...'".to_string()
    })?;
    if algorithm.is_empty()
        || !algorithm
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return Err(format!(
            "'{}' is not an algorithm name",
            printable(algorithm)
        ));
    }
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let part = part.trim();
        let (key, val) = part
            .split_once('=')
            .ok_or_else(|| format!("component '{}' is not key=value", printable(part)))?;
        let slot = match key {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut signature,
            other => return Err(format!("unknown component '{}'", printable(other))),
        };
        if slot.replace(val).is_some() {
            return Err(format!("component {key} appears twice"));
        }
    }
    let credential = credential.ok_or("Credential is missing")?;
    let signed = signed.ok_or("SignedHeaders is missing")?;
    let signature = signature.ok_or("Signature is missing")?;

    let parts: Vec<&str> = credential.split('/').collect();
    let [serial, date, region, service, terminator] = parts[..] else {
        return Err(format!(
            "Credential '{}' is not <serial>/<date>/<region>/<service>/aws4_request",
            printable(credential)
        ));
    };
    if serial.is_empty() || !serial.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "Credential serial '{}' is not a decimal number",
            printable(serial)
        ));
    }
    if date.len() != 8 || !date.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "Credential date '{}' is not YYYYMMDD",
            printable(date)
        ));
    }

    let signed_headers: Vec<String> = signed.split(';').map(str::to_string).collect();
    for name in &signed_headers {
        let token = !name.is_empty()
            && name.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_' || b == b'.'
            });
        if !token {
            return Err(format!(
                "SignedHeaders entry '{}' is not a lower-case header name",
                printable(name)
            ));
        }
    }
    if signed_headers.windows(2).any(|w| w[0] >= w[1]) {
        return Err(format!(
            "SignedHeaders '{}' is not sorted or has duplicates",
            printable(signed)
        ));
    }

    if signature.is_empty()
        || signature.len() % 2 != 0
        || !signature
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err("Signature is not lower-case hex".to_string());
    }
    let signature = hex::decode(signature).map_err(|e| format!("Signature is not hex: {e}"))?;

    Ok(Authorization {
        algorithm: algorithm.to_string(),
        serial: serial.to_string(),
        date: date.to_string(),
        region: region.to_string(),
        service: service.to_string(),
        terminator: terminator.to_string(),
        signed_headers,
        signature,
    })
}

/// At most 80 printable characters of an untrusted value, for error messages.
pub fn printable(value: &str) -> String {
    let mut out: String = value
        .chars()
        .take(80)
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if value.chars().count() > 80 {
        out.push('…');
    }
    out
}

/// RFC 3986 percent-encoding as SigV4 wants it: only `A-Z a-z 0-9 - . _ ~` stay, hex upper-case.
pub fn percent_encode(value: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(value.len());
    for &b in value.as_bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_' || b == b'~' {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 0x0f)] as char);
        }
    }
    out
}

/// Decodes `%XX` escapes (`+` stays a plus: RFC 3986, not form encoding); the result must be UTF-8.
pub fn percent_decode(value: &str) -> Result<String, String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex_digit = |b: u8| (b as char).to_digit(16);
            let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex_digit),
                bytes.get(i + 2).copied().and_then(hex_digit),
            ) else {
                return Err(format!("bad percent escape in '{}'", printable(value)));
            };
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("'{}' does not decode to UTF-8", printable(value)))
}

/// Decodes a raw query string into `(name, value)` pairs, in the order received.
pub fn parse_query(raw: &str) -> Result<Vec<(String, String)>, String> {
    let mut pairs = Vec::new();
    for part in raw.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        pairs.push((percent_decode(name)?, percent_decode(value)?));
    }
    Ok(pairs)
}

/// The canonical query string: every name and value re-encoded, sorted by name then value.
pub fn canonical_query(pairs: &[(String, String)]) -> String {
    let mut encoded: Vec<(String, String)> = pairs
        .iter()
        .map(|(n, v)| (percent_encode(n), percent_encode(v)))
        .collect();
    encoded.sort();
    let mut out = String::new();
    for (i, (name, value)) in encoded.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// A header value as SigV4 canonicalizes it: trimmed, runs of spaces and tabs folded to one space.
pub fn fold_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut pending_space = false;
    for c in value.trim_matches(|c| c == ' ' || c == '\t').chars() {
        if c == ' ' || c == '\t' {
            pending_space = true;
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

/// The canonical header block for `signed` (lower-case names): one `name:value\n` line each, the
/// received values of a repeated header joined by `,`. `received` holds lower-case names.
pub fn canonical_headers(
    signed: &[String],
    received: &[(String, String)],
) -> Result<String, String> {
    let mut block = String::new();
    for name in signed {
        let values: Vec<String> = received
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| fold_value(v))
            .collect();
        if values.is_empty() {
            return Err(format!("signed header '{name}' is not in the request"));
        }
        block.push_str(name);
        block.push(':');
        block.push_str(&values.join(","));
        block.push('\n');
    }
    Ok(block)
}

/// Lower-case hex SHA-256, with the `sha2` crate (the signer hashes with ring).
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(data))
}

/// `METHOD\nURI\nQUERY\nHEADERS\nSIGNED\nPAYLOAD-HASH`; `headers` already ends with `\n`.
pub fn canonical_request(
    method: &str,
    uri: &str,
    query: &str,
    headers: &str,
    signed: &[String],
    body: &[u8],
) -> String {
    format!(
        "{method}\n{uri}\n{query}\n{headers}\n{}\n{}",
        signed.join(";"),
        sha256_hex(body)
    )
}

/// `ALG\nX-AMZ-DATE\nSCOPE\nhex(sha256(canonical request))`.
pub fn string_to_sign(
    algorithm: &str,
    amz_date: &str,
    scope: &str,
    canonical_request: &str,
) -> String {
    format!(
        "{algorithm}\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

/// Parses `YYYYMMDDTHHMMSSZ`.
pub fn parse_amz_date(value: &str) -> Result<OffsetDateTime, String> {
    let b = value.as_bytes();
    let digits_at = |range: std::ops::Range<usize>| b[range].iter().all(u8::is_ascii_digit);
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' || !digits_at(0..8) || !digits_at(9..15) {
        return Err(format!("'{}' is not YYYYMMDDTHHMMSSZ", printable(value)));
    }
    let num = |range: std::ops::Range<usize>| value[range].parse::<u32>().unwrap_or(u32::MAX);
    let bad = || format!("'{}' is not a valid date and time", printable(value));
    let month = Month::try_from(u8::try_from(num(4..6)).map_err(|_| bad())?).map_err(|_| bad())?;
    let date = Date::from_calendar_date(
        num(0..4) as i32,
        month,
        u8::try_from(num(6..8)).map_err(|_| bad())?,
    )
    .map_err(|_| bad())?;
    let time = Time::from_hms(
        u8::try_from(num(9..11)).map_err(|_| bad())?,
        u8::try_from(num(11..13)).map_err(|_| bad())?,
        u8::try_from(num(13..15)).map_err(|_| bad())?,
    )
    .map_err(|_| bad())?;
    Ok(PrimitiveDateTime::new(date, time).assume_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    const AUTH: &str = "AWS4-X509-ECDSA-SHA256 Credential=123456789/20251126/us-east-1/rolesanywhere/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-x509, Signature=0aff";

    #[test]
    fn parses_authorization() {
        let a = parse_authorization(AUTH).unwrap();
        assert_eq!(a.algorithm, "AWS4-X509-ECDSA-SHA256");
        assert_eq!(a.serial, "123456789");
        assert_eq!(a.date, "20251126");
        assert_eq!(a.region, "us-east-1");
        assert_eq!(a.service, "rolesanywhere");
        assert_eq!(a.scope(), "20251126/us-east-1/rolesanywhere/aws4_request");
        assert_eq!(
            a.signed_headers,
            ["content-type", "host", "x-amz-date", "x-amz-x509"]
        );
        assert_eq!(a.signature, [0x0a, 0xff]);
        // Components in another order and without spaces after commas are accepted.
        let reordered = "AWS4-X509-RSA-SHA256 Signature=00,SignedHeaders=host,Credential=1/20250101/r/s/aws4_request";
        assert_eq!(parse_authorization(reordered).unwrap().serial, "1");
    }

    #[test]
    fn rejects_malformed_authorization() {
        let cases = [
            ("", "expected"),
            ("AWS4-X509-RSA-SHA256", "expected"),
            (
                "AWS4-X509-RSA-SHA256 Credential=1/20250101/r/s/aws4_request, SignedHeaders=host",
                "Signature is missing",
            ),
            (
                "AWS4-X509-RSA-SHA256 Credential=1/20250101/r/s, SignedHeaders=host, Signature=00",
                "is not <serial>",
            ),
            (
                "AWS4-X509-RSA-SHA256 Credential=0x1/20250101/r/s/aws4_request, SignedHeaders=host, Signature=00",
                "not a decimal",
            ),
            (
                "AWS4-X509-RSA-SHA256 Credential=1/2025010/r/s/aws4_request, SignedHeaders=host, Signature=00",
                "not YYYYMMDD",
            ),
            (
                "AWS4-X509-RSA-SHA256 Credential=1/20250101/r/s/aws4_request, SignedHeaders=x-amz-date;host, Signature=00",
                "not sorted",
            ),
            (
                "AWS4-X509-RSA-SHA256 Credential=1/20250101/r/s/aws4_request, SignedHeaders=host;host, Signature=00",
                "duplicates",
            ),
            (
                "AWS4-X509-RSA-SHA256 Credential=1/20250101/r/s/aws4_request, SignedHeaders=Host, Signature=00",
                "lower-case header",
            ),
            (
                "AWS4-X509-RSA-SHA256 Credential=1/20250101/r/s/aws4_request, SignedHeaders=host, Signature=0A",
                "lower-case hex",
            ),
            (
                "AWS4-X509-RSA-SHA256 Credential=1/20250101/r/s/aws4_request, SignedHeaders=host, Signature=abc",
                "lower-case hex",
            ),
            (
                "AWS4-X509-RSA-SHA256 Credential=1/20250101/r/s/aws4_request, Credential=2/20250101/r/s/aws4_request",
                "twice",
            ),
            (
                "AWS4-X509-RSA-SHA256 Credential=1/20250101/r/s/aws4_request, Foo=bar",
                "unknown component",
            ),
        ];
        for (value, expected) in cases {
            let err = parse_authorization(value).unwrap_err();
            assert!(err.contains(expected), "{value:?}: {err}");
        }
    }

    #[test]
    fn canonicalizes_the_query() {
        let raw = "trustAnchorArn=arn%3Aaws%3Arolesanywhere%3Aus-east-1%3A123456789012%3Atrust-anchor%2Fta&profileArn=arn:aws:rolesanywhere:us-east-1:123456789012:profile/p&roleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr";
        let pairs = parse_query(raw).unwrap();
        assert_eq!(
            pairs[1],
            (
                "profileArn".into(),
                "arn:aws:rolesanywhere:us-east-1:123456789012:profile/p".into()
            )
        );
        assert_eq!(
            canonical_query(&pairs),
            "profileArn=arn%3Aaws%3Arolesanywhere%3Aus-east-1%3A123456789012%3Aprofile%2Fp&roleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fr&trustAnchorArn=arn%3Aaws%3Arolesanywhere%3Aus-east-1%3A123456789012%3Atrust-anchor%2Fta"
        );
        // Sorted by name then value; '+' is a literal plus; empty values keep their '='.
        let pairs = parse_query("b=2&a=z&a=y&c&d=a+b%20c~").unwrap();
        assert_eq!(canonical_query(&pairs), "a=y&a=z&b=2&c=&d=a%2Bb%20c~");
        assert_eq!(percent_encode("ሴ/ "), "%E1%88%B4%2F%20");
        assert!(parse_query("a=%zz").is_err());
        assert!(parse_query("a=%ff").is_err());
        assert!(parse_query("a=%4").is_err());
        assert_eq!(canonical_query(&[]), "");
    }

    #[test]
    fn canonicalizes_headers() {
        let received = vec![
            ("host".to_string(), "127.0.0.1:8443".to_string()),
            ("x-multi".to_string(), "  a \t  b ".to_string()),
            ("x-multi".to_string(), "c".to_string()),
            ("content-type".to_string(), "application/json".to_string()),
        ];
        let signed: Vec<String> = ["content-type", "host", "x-multi"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            canonical_headers(&signed, &received).unwrap(),
            "content-type:application/json\nhost:127.0.0.1:8443\nx-multi:a b,c\n"
        );
        let missing = vec!["x-amz-date".to_string()];
        assert!(
            canonical_headers(&missing, &received)
                .unwrap_err()
                .contains("x-amz-date")
        );
    }

    #[test]
    fn matches_the_aws_sigv4_example() {
        // The get-vanilla-query-order-key-case example of the AWS SigV4 test suite.
        let pairs = parse_query("Param2=value2&Param1=value1").unwrap();
        let received = vec![
            ("host".to_string(), "example.amazonaws.com".to_string()),
            ("x-amz-date".to_string(), "20150830T123600Z".to_string()),
        ];
        let signed = vec!["host".to_string(), "x-amz-date".to_string()];
        let headers = canonical_headers(&signed, &received).unwrap();
        let creq = canonical_request("GET", "/", &canonical_query(&pairs), &headers, &signed, b"");
        assert_eq!(
            creq,
            "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let sts = string_to_sign(
            "AWS4-HMAC-SHA256",
            "20150830T123600Z",
            "20150830/us-east-1/service/aws4_request",
            &creq,
        );
        assert_eq!(
            sts,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0"
        );
    }

    #[test]
    fn parses_amz_dates() {
        let t = parse_amz_date("20150830T123600Z").unwrap();
        assert_eq!(t, time::macros::datetime!(2015-08-30 12:36:00 UTC));
        for bad in [
            "20150830T123600",
            "2015-08-30T12:36:00Z",
            "20151330T123600Z",
            "20150830T256000Z",
            "2015083OT123600Z",
            "ሴሴሴሴሴZ",
        ] {
            assert!(parse_amz_date(bad).is_err(), "{bad}");
        }
        assert_eq!(crate::iso8601(t), "2015-08-30T12:36:00Z");
    }

    #[test]
    fn folds_values() {
        assert_eq!(fold_value("  a   b\t\tc  "), "a b c");
        assert_eq!(fold_value(""), "");
    }
}
