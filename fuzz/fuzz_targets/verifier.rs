//! The local endpoint's request verification (crates/verifier): any request, against a trust
//! anchor made by fuzz/make-seeds.sh (fuzz/fixtures/), at the time the request claims (so the
//! clock-skew check lets the fuzzer past it). The text form: `METHOD TARGET` line, `name: value`
//! header lines, an empty line, the body.
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rolesanywhere_verifier::canonical::parse_amz_date;
use rolesanywhere_verifier::{Request, VerificationRecord, VerifierConfig, load_anchors, verify};

fn config() -> &'static VerifierConfig {
    static CONFIG: OnceLock<VerifierConfig> = OnceLock::new();
    CONFIG.get_or_init(|| VerifierConfig {
        anchors: load_anchors(include_bytes!("../fixtures/verifier-ca.pem"))
            .expect("fuzz/fixtures/verifier-ca.pem is a CA certificate"),
        trust_anchor_arn: "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/fuzz-anchor"
            .into(),
        profile_arn: "arn:aws:rolesanywhere:us-east-1:123456789012:profile/fuzz-profile".into(),
        role_arns: vec!["arn:aws:iam::123456789012:role/fuzz-role".into()],
        region: "us-east-1".into(),
        account: "123456789012".into(),
        max_clock_skew: rolesanywhere_verifier::DEFAULT_MAX_CLOCK_SKEW,
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let mut lines = head.split('\n');
    let request_line = lines.next().unwrap_or("");
    let (method, target) = request_line.split_once(' ').unwrap_or((request_line, "/"));
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (target, None),
    };
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect();
    let now = headers
        .iter()
        .find(|(name, _)| name == "x-amz-date")
        .and_then(|(_, value)| parse_amz_date(value).ok())
        .unwrap_or(time::macros::datetime!(2026-01-02 03:04:05 UTC));
    let request = Request {
        method,
        path,
        query,
        headers: &headers,
        body: body.as_bytes(),
    };
    let mut record = VerificationRecord::default();
    let _ = verify(&request, config(), now, &mut record);
});
