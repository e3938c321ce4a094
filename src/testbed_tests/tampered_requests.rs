//! The verifier refuses every way a signed request can be spoiled on its way, each with the
//! refusal the service gives.

use rolesanywhere_testbed::pki::KeyKind;
use rolesanywhere_verifier::response::{ErrorReply, Grant};
use time::OffsetDateTime;

use super::signer_against_verifier::{Received, sign, verifier};
use super::{ca, leaf};

/// Why `result` is not the refusal expected, if it is not.
fn refusal_mismatch(
    result: &Result<Grant, ErrorReply>,
    status: u16,
    error_type: &str,
    text: &str,
) -> Option<String> {
    match result {
        Ok(grant) => Some(format!("a grant for {}", grant.role_arn)),
        Err(e) if (e.status, e.error_type.as_str()) != (status, error_type) => {
            Some(format!("{} {}: {}", e.status, e.error_type, e.message))
        }
        Err(e) if !e.message.contains(text) => Some(format!("no '{text}' in '{}'", e.message)),
        Err(_) => None,
    }
}

/// One way to spoil a signed request, and the refusal it must earn.
struct Tampering {
    what: &'static str,
    spoil: Box<dyn Fn(&mut Received)>,
    /// The verifier's clock, in seconds after the signer's.
    clock_offset: i64,
    status: u16,
    error_type: &'static str,
    text: String,
}

#[test]
fn refuses_tampered_or_misdated_requests() {
    let root = ca("Root", None, |_| {});
    let config = verifier(&root.pem);
    let now = OffsetDateTime::now_utc();
    let leaf = leaf(&root, KeyKind::EcP256, |_| {});
    let good = sign(&leaf, &[], now);
    let auth = good.get("authorization");
    let amz_date = good.get("x-amz-date");
    let scope_date = amz_date[..8].to_string();

    let denied = |what, spoil: Box<dyn Fn(&mut Received)>, text: &str| Tampering {
        what,
        spoil,
        clock_offset: 0,
        status: 403,
        error_type: "AccessDeniedException",
        text: text.to_string(),
    };
    let invalid = |what, spoil: Box<dyn Fn(&mut Received)>, text: &str| Tampering {
        status: 400,
        error_type: "ValidationException",
        ..denied(what, spoil, text)
    };
    let skewed = |what, clock_offset, text: &str| Tampering {
        clock_offset,
        ..denied(what, Box::new(|_| {}), text)
    };
    let authorization = |from: &str, to: &str| -> Box<dyn Fn(&mut Received)> {
        let value = auth.replace(from, to);
        Box::new(move |r| r.set("authorization", &value))
    };
    let other_second = format!(
        "{}{}",
        &amz_date[..14],
        if amz_date.ends_with("0Z") { "1Z" } else { "0Z" }
    );
    let without = |name: &'static str| -> Box<dyn Fn(&mut Received)> {
        Box::new(move |r| r.headers.retain(|(n, _)| n != name))
    };

    let rows = [
        denied(
            "a changed body",
            Box::new(|r| r.body = br#"{"durationSeconds":43200}"#.to_vec()),
            "Invalid signature",
        ),
        denied(
            "a changed signed header (another second within the skew)",
            Box::new(move |r| r.set("x-amz-date", &other_second)),
            "Invalid signature: the signature does not verify",
        ),
        denied(
            "a changed query",
            Box::new(|r| r.query = r.query.replace("role%2Fr", "role%2Fother")),
            "Invalid signature",
        ),
        denied(
            "another Host",
            Box::new(|r| r.set("host", "localhost:4443")),
            "Invalid signature",
        ),
        skewed("a request 301 s old", 301, "301s behind"),
        skewed("a request 400 s in the future", -400, "400s ahead"),
        denied(
            "another certificate serial in the credential",
            authorization("Credential=4886718345/", "Credential=4886718346/"),
            "serial 4886718346",
        ),
        denied(
            "an algorithm that is not the key's",
            authorization("AWS4-X509-ECDSA-SHA256 ", "AWS4-X509-RSA-SHA256 "),
            "does not match the certificate's EC P-256 key",
        ),
        denied(
            "another region in the scope",
            authorization("/us-east-1/", "/eu-west-1/"),
            "region 'eu-west-1'",
        ),
        denied(
            "another service in the scope",
            authorization("/rolesanywhere/", "/sts/"),
            "/rolesanywhere/aws4_request",
        ),
        denied(
            "another date in the scope",
            authorization(&format!("/{scope_date}/"), "/19990101/"),
            "scope date 19990101",
        ),
        denied(
            "content-type missing from the signed headers",
            authorization("SignedHeaders=content-type;host;", "SignedHeaders=host;"),
            "lacks content-type",
        ),
        denied(
            "a changed signature",
            authorization("Signature=", "Signature=00"),
            "Invalid signature",
        ),
        invalid(
            "a malformed Authorization",
            authorization(", Signature=", ", Sig="),
            "malformed Authorization",
        ),
        invalid(
            "no X-Amz-Date",
            without("x-amz-date"),
            "missing header X-Amz-Date",
        ),
        invalid(
            "no X-Amz-X509",
            without("x-amz-x509"),
            "missing header X-Amz-X509",
        ),
        invalid(
            "no Authorization",
            without("authorization"),
            "missing header Authorization",
        ),
        denied(
            "a signed header that is not in the request",
            without("content-type"),
            "'content-type' is not in the request",
        ),
        invalid(
            "a malformed X-Amz-Date",
            Box::new(|r| r.set("x-amz-date", "2025-11-26T07:00:00Z")),
            "X-Amz-Date",
        ),
    ];
    let mut failures = Vec::new();
    for row in &rows {
        let mut request = good.clone();
        (row.spoil)(&mut request);
        let at = now + time::Duration::seconds(row.clock_offset);
        let (result, _) = request.verify(&config, at);
        if let Some(why) = refusal_mismatch(&result, row.status, row.error_type, &row.text) {
            failures.push(format!(
                "{}: expected {} {} '{}', got {why}",
                row.what, row.status, row.error_type, row.text
            ));
        }
    }
    // The record keeps the skew, and the edge of the allowed skew still passes.
    let (_, record) = good.verify(&config, now + time::Duration::seconds(301));
    if record.clock_skew_seconds != Some(-301) {
        failures.push(format!(
            "the record of a 301 s old request: skew {:?}",
            record.clock_skew_seconds
        ));
    }
    if let Err(e) = good.verify(&config, now + time::Duration::seconds(300)).0 {
        failures.push(format!(
            "a request 300 s old, the edge: refused with {}",
            e.message
        ));
    }
    assert!(
        failures.is_empty(),
        "failing rows:\n{}",
        failures.join("\n")
    );
}
