//! The verifier's verdict on what the helper's signer signs: accepted for every key type, and
//! refused, with the service's status, type and message, whenever the chain, the certificate, the
//! signature, the time or the inputs are wrong. No network: the request goes straight to
//! `rolesanywhere_verifier::verify`.

use rcgen::{BasicConstraints, IsCa, KeyUsagePurpose};
use rolesanywhere_verifier::response::{ErrorReply, Grant};
use rolesanywhere_verifier::verify::{self, Request, VerifierConfig};
use rolesanywhere_verifier::{DEFAULT_MAX_CLOCK_SKEW, VerificationRecord, chain};
use time::OffsetDateTime;

use super::*;
use crate::sigv4x509::{self, CreateSessionParams, SigningIdentity};

pub(super) fn verifier(anchors_pem: &str) -> VerifierConfig {
    VerifierConfig {
        anchors: chain::load_anchors(anchors_pem.as_bytes()).unwrap(),
        trust_anchor_arn: TA.into(),
        profile_arn: PROFILE.into(),
        role_arns: vec![ROLE.into(), "arn:aws:iam::123456789012:role/other".into()],
        region: "us-east-1".into(),
        account: "123456789012".into(),
        max_clock_skew: DEFAULT_MAX_CLOCK_SKEW,
    }
}

fn params() -> CreateSessionParams {
    CreateSessionParams {
        trust_anchor_arn: TA.into(),
        profile_arn: PROFILE.into(),
        role_arn: ROLE.into(),
        duration_seconds: 3600,
        role_session_name: None,
    }
}

/// A request as received, owned so tests can tamper with it.
#[derive(Clone)]
pub(super) struct Received {
    method: String,
    path: String,
    pub(super) query: String,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
    signer_canonical_request: String,
    signer_string_to_sign: String,
}

impl Received {
    pub(super) fn set(&mut self, name: &str, value: &str) {
        self.headers.retain(|(n, _)| n != name);
        self.headers.push((name.to_string(), value.to_string()));
    }

    pub(super) fn get(&self, name: &str) -> String {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    }

    pub(super) fn verify(
        &self,
        config: &VerifierConfig,
        now: OffsetDateTime,
    ) -> (Result<Grant, ErrorReply>, VerificationRecord) {
        let req = Request {
            method: &self.method,
            path: &self.path,
            query: Some(&self.query),
            headers: &self.headers,
            body: &self.body,
        };
        let mut record = VerificationRecord::default();
        let result = verify::verify(&req, config, now, &mut record);
        (result, record)
    }
}

fn sign_with(
    leaf: &Leaf,
    chain: &[Vec<u8>],
    params: &CreateSessionParams,
    region: &str,
    now: OffsetDateTime,
) -> Received {
    let signer = crate::identity::key_file::parse(leaf.key_pem.as_bytes(), "test key").unwrap();
    let serial = chain::summarize_leaf(&leaf.der).unwrap().serial_decimal;
    let identity = SigningIdentity {
        leaf_der: &leaf.der,
        chain_der: chain,
        serial_decimal: &serial,
    };
    let signed =
        sigv4x509::sign_create_session(params, "127.0.0.1:4443", region, identity, now, &signer)
            .unwrap();
    let (path, query) = signed.path_and_query.split_once('?').unwrap();
    Received {
        method: "POST".into(),
        path: path.into(),
        query: query.into(),
        headers: signed
            .headers
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
            .collect(),
        body: signed.body.clone(),
        signer_canonical_request: signed.canonical_request.clone(),
        signer_string_to_sign: signed.string_to_sign.clone(),
    }
}

pub(super) fn sign(leaf: &Leaf, chain: &[Vec<u8>], now: OffsetDateTime) -> Received {
    sign_with(leaf, chain, &params(), "us-east-1", now)
}

fn expect_error(
    result: Result<Grant, ErrorReply>,
    status: u16,
    error_type: &str,
    text: &str,
) -> ErrorReply {
    let error = match result {
        Ok(grant) => panic!(
            "expected {status} {error_type} '{text}', got a grant for {}",
            grant.role_arn
        ),
        Err(e) => e,
    };
    assert_eq!(
        (error.status, error.error_type.as_str()),
        (status, error_type),
        "{}",
        error.message
    );
    assert!(
        error.message.contains(text),
        "expected '{text}' in '{}'",
        error.message
    );
    error
}

#[test]
fn accepts_what_the_signer_signs_for_every_key_type() {
    let root = ca("Test Root CA", None, |_| {});
    let config = verifier(&root.pem);
    let now = OffsetDateTime::now_utc();
    let leaves = [
        (
            "EC P-256",
            "AWS4-X509-ECDSA-SHA256",
            leaf(&root, KeyKind::EcP256, |_| {}),
        ),
        (
            "EC P-384",
            "AWS4-X509-ECDSA-SHA256",
            leaf(&root, KeyKind::EcP384, |_| {}),
        ),
        (
            "RSA 2048",
            "AWS4-X509-RSA-SHA256",
            leaf(&root, KeyKind::Rsa(2048), |_| {}),
        ),
        ("EC P-521", "AWS4-X509-ECDSA-SHA256", p521_leaf(&root)),
    ];
    for (key, algorithm, leaf) in leaves {
        let received = sign(&leaf, &[], now);
        let (result, record) = received.verify(&config, now);
        let grant = result.unwrap_or_else(|e| panic!("{key}: {}", e.message));
        assert_eq!(grant.role_arn, ROLE);
        assert_eq!(
            grant.session_name, "123456789",
            "default session name: the serial in hex"
        );
        assert_eq!(grant.source_identity, "CN=test client");
        assert!(record.verified);
        assert_eq!(record.key.as_deref(), Some(key));
        assert_eq!(record.algorithm.as_deref(), Some(algorithm));
        assert_eq!(record.serial.as_deref(), Some("4886718345"));
        assert_eq!(
            record.signed_headers,
            ["content-type", "host", "x-amz-date", "x-amz-x509"]
        );
        assert_eq!(
            record.trust_anchor_subject.as_deref(),
            Some("CN=Test Root CA")
        );
        assert_eq!(record.clock_skew_seconds, Some(0));
        // Two independent implementations, one canonical request.
        assert_eq!(
            record.canonical_request.as_deref(),
            Some(received.signer_canonical_request.as_str())
        );
        assert_eq!(
            record.string_to_sign.as_deref(),
            Some(received.signer_string_to_sign.as_str())
        );
    }
}

#[test]
fn follows_intermediates_and_checks_them() {
    let root = ca("Root", None, |_| {});
    let intermediate = ca("Intermediate", Some(&root), |_| {});
    let config = verifier(&root.pem);
    let now = OffsetDateTime::now_utc();
    let leaf = leaf(&intermediate, KeyKind::EcP256, |_| {});

    let received = sign(&leaf, std::slice::from_ref(&intermediate.der), now);
    let (result, record) = received.verify(&config, now);
    let grant = result.unwrap();
    assert_eq!(grant.duration_seconds, 3600);
    assert!(
        record
            .signed_headers
            .contains(&"x-amz-x509-chain".to_string())
    );
    assert_eq!(record.chain_subjects, ["CN=Intermediate"]);
    assert_eq!(record.path_subjects, ["CN=Intermediate"]);

    // The root sent along too is harmless.
    let received = sign(&leaf, &[intermediate.der.clone(), root.der.clone()], now);
    received.verify(&config, now).0.unwrap();

    // Without the intermediate there is no path.
    let (result, _) = sign(&leaf, &[], now).verify(&config, now);
    expect_error(
        result,
        403,
        "AccessDeniedException",
        "Untrusted signing certificate: issuer 'CN=Intermediate'",
    );

    // An intermediate that is not a CA.
    let not_ca = ca("Intermediate", Some(&root), |p| {
        p.is_ca = IsCa::ExplicitNoCa
    });
    let leaf2 = self::leaf(&not_ca, KeyKind::EcP256, |_| {});
    let (result, _) = sign(&leaf2, std::slice::from_ref(&not_ca.der), now).verify(&config, now);
    expect_error(result, 403, "AccessDeniedException", "not a CA");

    // A pathLenConstraint of 0 on the root forbids any intermediate.
    let strict_root = ca("Strict Root", None, |p| {
        p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0))
    });
    let mid = ca("Mid", Some(&strict_root), |_| {});
    let leaf3 = self::leaf(&mid, KeyKind::EcP256, |_| {});
    let (result, _) =
        sign(&leaf3, std::slice::from_ref(&mid.der), now).verify(&verifier(&strict_root.pem), now);
    expect_error(result, 403, "AccessDeniedException", "pathLenConstraint 0");

    // The chain header must never hold the leaf.
    let mut received = sign(&leaf, std::slice::from_ref(&intermediate.der), now);
    let chain = format!(
        "{},{}",
        received.get("x-amz-x509"),
        received.get("x-amz-x509-chain")
    );
    received.set("x-amz-x509-chain", &chain);
    expect_error(
        received.verify(&config, now).0,
        400,
        "ValidationException",
        "must not contain the leaf",
    );
}

#[test]
fn limits_the_path_to_five_certificates() {
    let root = ca("Root", None, |_| {});
    let mut cas = vec![root];
    for i in 1..=4 {
        let next = ca(&format!("Level {i}"), cas.last(), |_| {});
        cas.push(next);
    }
    let config = verifier(&cas[0].pem);
    let now = OffsetDateTime::now_utc();
    // leaf + 3 intermediates + root = 5: accepted.
    let leaf = leaf(&cas[3], KeyKind::EcP256, |_| {});
    let chain: Vec<Vec<u8>> = cas[1..4].iter().rev().map(|c| c.der.clone()).collect();
    sign(&leaf, &chain, now).verify(&config, now).0.unwrap();
    // leaf + 4 intermediates + root = 6: refused.
    let leaf = self::leaf(&cas[4], KeyKind::EcP256, |_| {});
    let chain: Vec<Vec<u8>> = cas[1..5].iter().rev().map(|c| c.der.clone()).collect();
    let (result, _) = sign(&leaf, &chain, now).verify(&config, now);
    expect_error(
        result,
        403,
        "AccessDeniedException",
        "within 5 certificates",
    );
}

#[test]
fn refuses_unfit_leaf_certificates() {
    let root = ca("Root", None, |_| {});
    let other_root = ca("Other Root", None, |_| {});
    let config = verifier(&root.pem);
    let now = OffsetDateTime::now_utc();
    let cases: Vec<(Leaf, &str)> = vec![
        (
            leaf(&other_root, KeyKind::EcP256, |_| {}),
            "issuer 'CN=Other Root'",
        ),
        (
            leaf(&root, KeyKind::EcP256, |p| {
                p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained)
            }),
            "is a CA",
        ),
        (
            leaf(&root, KeyKind::EcP256, |p| {
                p.key_usages = vec![KeyUsagePurpose::KeyEncipherment]
            }),
            "digitalSignature",
        ),
        (
            leaf(&root, KeyKind::EcP256, |p| {
                p.not_before = now - time::Duration::hours(2);
                p.not_after = now - time::Duration::hours(1);
            }),
            "expired",
        ),
        (
            leaf(&root, KeyKind::EcP256, |p| {
                p.not_before = now + time::Duration::hours(1)
            }),
            "not valid before",
        ),
    ];
    for (leaf, text) in cases {
        let (result, record) = sign(&leaf, &[], now).verify(&config, now);
        let error = expect_error(result, 403, "AccessDeniedException", text);
        assert!(
            error.message.starts_with("Untrusted signing certificate: "),
            "{}",
            error.message
        );
        assert!(
            record.serial.is_some(),
            "the record names the certificate even when refused"
        );
        assert!(!record.verified);
    }
    // Not a certificate at all.
    let good = leaf(&root, KeyKind::EcP256, |_| {});
    let mut received = sign(&good, &[], now);
    received.set("x-amz-x509", "AAAA");
    expect_error(
        received.verify(&config, now).0,
        403,
        "AccessDeniedException",
        "X-Amz-X509",
    );
    received.set("x-amz-x509", "not base64!");
    expect_error(
        received.verify(&config, now).0,
        400,
        "ValidationException",
        "not base64",
    );
}

#[test]
fn validates_inputs_and_finds_resources() {
    let root = ca("Root", None, |_| {});
    let config = verifier(&root.pem);
    let now = OffsetDateTime::now_utc();
    let leaf = leaf(&root, KeyKind::EcP256, |_| {});
    let with = |f: &dyn Fn(&mut CreateSessionParams)| {
        let mut p = params();
        f(&mut p);
        sign_with(&leaf, &[], &p, "us-east-1", now).verify(&config, now)
    };

    let (result, record) = with(&|p| {
        p.duration_seconds = 900;
        p.role_session_name = Some("ci-job@example".into());
        p.role_arn = "arn:aws:iam::123456789012:role/other".into();
    });
    let grant = result.unwrap();
    assert_eq!(
        (grant.duration_seconds, grant.session_name.as_str()),
        (900, "ci-job@example")
    );
    assert_eq!(record.role_session_name.as_deref(), Some("ci-job@example"));

    expect_error(
        with(&|p| p.duration_seconds = 899).0,
        400,
        "ValidationException",
        "durationSeconds",
    );
    expect_error(
        with(&|p| p.duration_seconds = 43201).0,
        400,
        "ValidationException",
        "durationSeconds",
    );
    expect_error(
        with(&|p| p.role_session_name = Some("a".into())).0,
        400,
        "ValidationException",
        "roleSessionName",
    );
    expect_error(
        with(&|p| p.role_session_name = Some("with space".into())).0,
        400,
        "ValidationException",
        "roleSessionName",
    );
    expect_error(
        with(&|p| p.role_arn = "arn:aws:iam::123456789012:user/u".into()).0,
        400,
        "ValidationException",
        "roleArn",
    );
    expect_error(
        with(&|p| p.role_arn = "arn:aws:iam::123456789012:role/unknown".into()).0,
        404,
        "ResourceNotFoundException",
        "role/unknown",
    );
    expect_error(
        with(&|p| p.profile_arn = "arn:aws:rolesanywhere:us-east-1:123456789012:profile/x".into())
            .0,
        404,
        "ResourceNotFoundException",
        "profile",
    );
    expect_error(
        with(&|p| {
            p.trust_anchor_arn =
                "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/x".into()
        })
        .0,
        404,
        "ResourceNotFoundException",
        "trust anchor",
    );

    // ARNs may also come in the body, but must agree with the query.
    let mut r = sign(&leaf, &[], now);
    r.query = String::new();
    expect_error(
        r.verify(&config, now).0,
        400,
        "ValidationException",
        "missing trustAnchorArn",
    );

    // Routing.
    let mut r = sign(&leaf, &[], now);
    r.method = "GET".into();
    expect_error(
        r.verify(&config, now).0,
        405,
        "MethodNotAllowedException",
        "use POST",
    );
    r.path = "/other".into();
    expect_error(
        r.verify(&config, now).0,
        404,
        "UnknownOperationException",
        "POST /sessions",
    );
}
