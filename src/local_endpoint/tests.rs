//! The endpoint against the crate's own signer and client: accepted requests, every refusal it
//! is meant to make, faults, records and the request log.

use std::path::PathBuf;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::*;
use crate::cli::DemoKeyType;
use crate::sigv4x509::{self, CreateSessionParams, SigningIdentity};
use crate::throwaway_pki::{self, GeneratedKey, KeyKind};
use rolesanywhere_verifier::response::{ErrorReply, Grant};
use rolesanywhere_verifier::verify::{self, Request, VerifierConfig};

const TA: &str = "arn:aws:rolesanywhere:us-east-1:123456789012:trust-anchor/ta";
const PROFILE: &str = "arn:aws:rolesanywhere:us-east-1:123456789012:profile/p";
const ROLE: &str = "arn:aws:iam::123456789012:role/r";

struct Ca {
    der: Vec<u8>,
    pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn ca(name: &str, parent: Option<&Ca>, customize: impl FnOnce(&mut CertificateParams)) -> Ca {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(1);
    customize(&mut params);
    let cert = match parent {
        Some(parent) => params.signed_by(&key, &parent.issuer).unwrap(),
        None => params.self_signed(&key).unwrap(),
    };
    Ca {
        der: cert.der().to_vec(),
        pem: cert.pem(),
        issuer: Issuer::new(params, key),
    }
}

struct Leaf {
    der: Vec<u8>,
    key_pem: Zeroizing<String>,
}

fn leaf_params(customize: impl FnOnce(&mut CertificateParams)) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = DistinguishedName::new();
    params
        .distinguished_name
        .push(DnType::CommonName, "test client");
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    let now = OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::minutes(5);
    params.not_after = now + time::Duration::hours(1);
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&[
        0x01, 0x23, 0x45, 0x67, 0x89,
    ]));
    customize(&mut params);
    params
}

fn leaf(
    issuer: &Ca,
    key_type: DemoKeyType,
    customize: impl FnOnce(&mut CertificateParams),
) -> Leaf {
    let key = GeneratedKey::generate(crate::demo::key_kind(key_type)).unwrap();
    let public = rcgen::SubjectPublicKeyInfo::from_der(&key.spki_der).unwrap();
    let cert = leaf_params(customize)
        .signed_by(&public, &issuer.issuer)
        .unwrap();
    Leaf {
        der: cert.der().to_vec(),
        key_pem: key.pkcs8_pem(),
    }
}

/// A P-521 leaf (rcgen on ring cannot sign for P-521 keys directly; `throwaway_pki` works
/// around it).
fn p521_leaf(issuer: &Ca) -> Leaf {
    let key = GeneratedKey::generate(KeyKind::EcP521).unwrap();
    let cert = throwaway_pki::sign_certificate(leaf_params(|_| {}), &key.spki_der, &issuer.issuer)
        .unwrap();
    Leaf {
        der: cert.der,
        key_pem: key.pkcs8_pem(),
    }
}

fn verifier(anchors_pem: &str) -> VerifierConfig {
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
struct Received {
    method: String,
    path: String,
    query: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    signer_canonical_request: String,
    signer_string_to_sign: String,
}

impl Received {
    fn set(&mut self, name: &str, value: &str) {
        self.headers.retain(|(n, _)| n != name);
        self.headers.push((name.to_string(), value.to_string()));
    }

    fn get(&self, name: &str) -> String {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .unwrap()
    }

    fn verify(
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
    let signer = crate::key_source::file::parse(leaf.key_pem.as_bytes(), "test key").unwrap();
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

fn sign(leaf: &Leaf, chain: &[Vec<u8>], now: OffsetDateTime) -> Received {
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
            leaf(&root, DemoKeyType::EcP256, |_| {}),
        ),
        (
            "EC P-384",
            "AWS4-X509-ECDSA-SHA256",
            leaf(&root, DemoKeyType::EcP384, |_| {}),
        ),
        (
            "RSA 2048",
            "AWS4-X509-RSA-SHA256",
            leaf(&root, DemoKeyType::Rsa2048, |_| {}),
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
    let leaf = leaf(&intermediate, DemoKeyType::EcP256, |_| {});

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
    let leaf2 = self::leaf(&not_ca, DemoKeyType::EcP256, |_| {});
    let (result, _) = sign(&leaf2, std::slice::from_ref(&not_ca.der), now).verify(&config, now);
    expect_error(result, 403, "AccessDeniedException", "not a CA");

    // A pathLenConstraint of 0 on the root forbids any intermediate.
    let strict_root = ca("Strict Root", None, |p| {
        p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0))
    });
    let mid = ca("Mid", Some(&strict_root), |_| {});
    let leaf3 = self::leaf(&mid, DemoKeyType::EcP256, |_| {});
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
    let leaf = leaf(&cas[3], DemoKeyType::EcP256, |_| {});
    let chain: Vec<Vec<u8>> = cas[1..4].iter().rev().map(|c| c.der.clone()).collect();
    sign(&leaf, &chain, now).verify(&config, now).0.unwrap();
    // leaf + 4 intermediates + root = 6: refused.
    let leaf = self::leaf(&cas[4], DemoKeyType::EcP256, |_| {});
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
            leaf(&other_root, DemoKeyType::EcP256, |_| {}),
            "issuer 'CN=Other Root'",
        ),
        (
            leaf(&root, DemoKeyType::EcP256, |p| {
                p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained)
            }),
            "is a CA",
        ),
        (
            leaf(&root, DemoKeyType::EcP256, |p| {
                p.key_usages = vec![KeyUsagePurpose::KeyEncipherment]
            }),
            "digitalSignature",
        ),
        (
            leaf(&root, DemoKeyType::EcP256, |p| {
                p.not_before = now - time::Duration::hours(2);
                p.not_after = now - time::Duration::hours(1);
            }),
            "expired",
        ),
        (
            leaf(&root, DemoKeyType::EcP256, |p| {
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
    let good = leaf(&root, DemoKeyType::EcP256, |_| {});
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
fn refuses_tampered_or_misdated_requests() {
    let root = ca("Root", None, |_| {});
    let config = verifier(&root.pem);
    let now = OffsetDateTime::now_utc();
    let leaf = leaf(&root, DemoKeyType::EcP256, |_| {});
    let good = sign(&leaf, &[], now);

    // A changed body.
    let mut r = good.clone();
    r.body = br#"{"durationSeconds":43200}"#.to_vec();
    expect_error(
        r.verify(&config, now).0,
        403,
        "AccessDeniedException",
        "Invalid signature",
    );
    // A changed signed header (same date, other time within the skew).
    let mut r = good.clone();
    let date = r.get("x-amz-date");
    r.set(
        "x-amz-date",
        &format!(
            "{}{}",
            &date[..14],
            if date.ends_with("0Z") { "1Z" } else { "0Z" }
        ),
    );
    expect_error(
        r.verify(&config, now).0,
        403,
        "AccessDeniedException",
        "Invalid signature: the signature does not verify",
    );
    // A changed query.
    let mut r = good.clone();
    r.query = r.query.replace("role%2Fr", "role%2Fother");
    expect_error(
        r.verify(&config, now).0,
        403,
        "AccessDeniedException",
        "Invalid signature",
    );
    // Another Host.
    let mut r = good.clone();
    r.set("host", "localhost:4443");
    expect_error(
        r.verify(&config, now).0,
        403,
        "AccessDeniedException",
        "Invalid signature",
    );

    // Clock skew, both ways, and the edge.
    let (result, record) = good.verify(&config, now + time::Duration::seconds(301));
    expect_error(result, 403, "AccessDeniedException", "301s behind");
    assert_eq!(record.clock_skew_seconds, Some(-301));
    expect_error(
        good.verify(&config, now - time::Duration::seconds(400)).0,
        403,
        "AccessDeniedException",
        "400s ahead",
    );
    good.verify(&config, now + time::Duration::seconds(300))
        .0
        .unwrap();

    // Authorization fields that disagree with the request.
    let auth = good.get("authorization");
    let tamper = |from: &str, to: &str| {
        let mut r = good.clone();
        r.set("authorization", &auth.replace(from, to));
        r.verify(&config, now).0
    };
    expect_error(
        tamper("Credential=4886718345/", "Credential=4886718346/"),
        403,
        "AccessDeniedException",
        "serial 4886718346",
    );
    expect_error(
        tamper("AWS4-X509-ECDSA-SHA256 ", "AWS4-X509-RSA-SHA256 "),
        403,
        "AccessDeniedException",
        "does not match the certificate's EC P-256 key",
    );
    expect_error(
        tamper("/us-east-1/", "/eu-west-1/"),
        403,
        "AccessDeniedException",
        "region 'eu-west-1'",
    );
    expect_error(
        tamper("/rolesanywhere/", "/sts/"),
        403,
        "AccessDeniedException",
        "/rolesanywhere/aws4_request",
    );
    let date = &good.get("x-amz-date")[..8];
    expect_error(
        tamper(&format!("/{date}/"), "/19990101/"),
        403,
        "AccessDeniedException",
        "scope date 19990101",
    );
    expect_error(
        tamper("SignedHeaders=content-type;host;", "SignedHeaders=host;"),
        403,
        "AccessDeniedException",
        "lacks content-type",
    );
    expect_error(
        tamper("Signature=", "Signature=00"),
        403,
        "AccessDeniedException",
        "Invalid signature",
    );
    expect_error(
        tamper(", Signature=", ", Sig="),
        400,
        "ValidationException",
        "malformed Authorization",
    );

    // Missing headers.
    for (name, display) in [
        ("x-amz-date", "X-Amz-Date"),
        ("x-amz-x509", "X-Amz-X509"),
        ("authorization", "Authorization"),
    ] {
        let mut r = good.clone();
        r.headers.retain(|(n, _)| n != name);
        expect_error(
            r.verify(&config, now).0,
            400,
            "ValidationException",
            &format!("missing header {display}"),
        );
    }
    // A signed header that is not there.
    let mut r = good.clone();
    r.headers.retain(|(n, _)| n != "content-type");
    expect_error(
        r.verify(&config, now).0,
        403,
        "AccessDeniedException",
        "'content-type' is not in the request",
    );
    // A malformed date.
    let mut r = good.clone();
    r.set("x-amz-date", "2025-11-26T07:00:00Z");
    expect_error(
        r.verify(&config, now).0,
        400,
        "ValidationException",
        "X-Amz-Date",
    );
}

#[test]
fn validates_inputs_and_finds_resources() {
    let root = ca("Root", None, |_| {});
    let config = verifier(&root.pem);
    let now = OffsetDateTime::now_utc();
    let leaf = leaf(&root, DemoKeyType::EcP256, |_| {});
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

/// Writes the leaf's files and returns `credential-process` arguments against `url`.
fn client_files(dir: &std::path::Path, leaf: &Leaf, url: &str) -> crate::cli::CredentialArgs {
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(
        &cert,
        pem::encode(&pem::Pem::new("CERTIFICATE", leaf.der.clone())),
    )
    .unwrap();
    std::fs::write(&key, leaf.key_pem.as_bytes()).unwrap();
    crate::demo::credential_args(&cert, &key, TA, PROFILE, ROLE, url).unwrap()
}

fn start_endpoint(
    root: &Ca,
    dir: &std::path::Path,
    customize: impl FnOnce(&mut EndpointConfig),
) -> (RunningEndpoint, PathBuf) {
    let mut config = EndpointConfig::new(root.pem.as_bytes(), TA, PROFILE, vec![ROLE.to_string()]);
    customize(&mut config);
    let endpoint = start(config).unwrap();
    let ca_path = dir.join("tls-ca.pem");
    std::fs::write(&ca_path, endpoint.tls_ca_pem().unwrap()).unwrap();
    (endpoint, ca_path)
}

fn fast_retries(ca_path: PathBuf) -> crate::session::ClientOptions {
    crate::session::ClientOptions {
        ca_bundle: Some(ca_path),
        retry: crate::session::RetryPolicy {
            base_delay: Duration::from_millis(10),
            max_delay: Duration::from_millis(50),
            ..Default::default()
        },
        ..Default::default()
    }
}

#[test]
fn serves_the_real_client_and_logs_without_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let root = ca("Root", None, |_| {});
    let leaf = leaf(&root, DemoKeyType::EcP256, |_| {});
    let log = dir.path().join("requests.jsonl");
    let (endpoint, ca_path) =
        start_endpoint(&root, dir.path(), |c| c.request_log = Some(log.clone()));
    assert!(endpoint.url().starts_with("https://127.0.0.1:"));
    let args = client_files(dir.path(), &leaf, &endpoint.url());

    let (credentials, info) =
        crate::commands::fetch_credentials(&args, &fast_retries(ca_path)).unwrap();
    assert!(credentials.access_key_id.starts_with("ASIA"));
    assert_eq!(
        info.assumed_role_arn.as_deref(),
        Some("arn:aws:sts::123456789012:assumed-role/r/123456789")
    );
    let records = endpoint.records();
    assert_eq!(records.len(), 1);
    let record = &records[0];
    assert_eq!(record.outcome, Outcome::Issued);
    assert_eq!(record.status, Some(201));
    assert_eq!(
        record.access_key_id.as_deref(),
        Some(credentials.access_key_id.as_str())
    );
    assert!(record.remote_addr.starts_with("127.0.0.1:"));

    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(text.lines().count(), 1);
    let line: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(line["outcome"], "issued");
    assert_eq!(line["access_key_id"], credentials.access_key_id.as_str());
    assert!(
        line["string_to_sign"]
            .as_str()
            .unwrap()
            .starts_with("AWS4-X509-ECDSA-SHA256\n")
    );
    assert!(
        !text.contains(&credentials.secret_access_key)
            && !text.contains(&credentials.session_token)
    );

    // A refusal reaches the client as the service would send it.
    let other_root = ca("Other Root", None, |_| {});
    let stranger = self::leaf(&other_root, DemoKeyType::EcP256, |_| {});
    let args = client_files(dir.path(), &stranger, &endpoint.url());
    let ca_path = dir.path().join("tls-ca.pem");
    match crate::commands::fetch_credentials(&args, &fast_retries(ca_path)) {
        Err(crate::Error::Denied { error, .. }) => {
            assert_eq!(
                (error.status, error.error_type.as_str()),
                (403, "AccessDeniedException")
            );
            assert!(
                error.message.starts_with("Untrusted signing certificate"),
                "{}",
                error.message
            );
            assert!(error.request_id.is_some());
        }
        other => panic!("expected a denial, got {other:?}"),
    }
    assert_eq!(
        endpoint.records().last().map(|r| r.outcome),
        Some(Outcome::Rejected)
    );
    assert_eq!(std::fs::read_to_string(&log).unwrap().lines().count(), 2);
    endpoint.shutdown();
}

#[test]
fn injects_faults_the_client_retries_through() {
    let dir = tempfile::tempdir().unwrap();
    let root = ca("Root", None, |_| {});
    let leaf = leaf(&root, DemoKeyType::EcP256, |_| {});
    let (endpoint, ca_path) = start_endpoint(&root, dir.path(), |c| {
        c.faults = FaultPlan {
            fail_next: 1,
            ..Default::default()
        };
    });
    let args = client_files(dir.path(), &leaf, &endpoint.url());
    let options = fast_retries(ca_path);

    crate::commands::fetch_credentials(&args, &options).unwrap();
    let outcomes: Vec<(Outcome, Option<u16>)> = endpoint
        .records()
        .iter()
        .map(|r| (r.outcome, r.status))
        .collect();
    assert_eq!(
        outcomes,
        [
            (Outcome::FaultInjected, Some(503)),
            (Outcome::Issued, Some(201))
        ]
    );
    let first = &endpoint.records()[0];
    assert_eq!(
        first.error_type.as_deref(),
        Some("ServiceUnavailableException")
    );
    assert!(first.verified, "the faulted request was itself valid");

    endpoint.clear_records();
    endpoint.set_faults(FaultPlan {
        drop_next: 1,
        fail_next: 1,
        fail_status: 429,
        ..Default::default()
    });
    crate::commands::fetch_credentials(&args, &options).unwrap();
    let outcomes: Vec<(Outcome, Option<u16>, Option<String>)> = endpoint
        .records()
        .iter()
        .map(|r| (r.outcome, r.status, r.error_type.clone()))
        .collect();
    assert_eq!(
        outcomes,
        [
            (Outcome::Dropped, None, None),
            (
                Outcome::FaultInjected,
                Some(429),
                Some("ThrottlingException".into())
            ),
            (Outcome::Issued, Some(201), None),
        ]
    );
    assert_eq!(
        endpoint.faults(),
        FaultPlan {
            fail_status: 429,
            ..Default::default()
        }
    );

    // Every attempt failing: the client gives up with an "unavailable" error.
    endpoint.set_faults(FaultPlan {
        fail_next: 10,
        ..Default::default()
    });
    match crate::commands::fetch_credentials(&args, &options) {
        Err(crate::Error::Unavailable(message)) => {
            assert!(message.contains("ServiceUnavailableException"), "{message}")
        }
        other => panic!("expected unavailable, got {other:?}"),
    }

    // A delay longer than the client's attempt timeout.
    endpoint.set_faults(FaultPlan {
        delay: Duration::from_millis(400),
        ..Default::default()
    });
    let mut impatient = options.clone();
    impatient.retry.attempt_timeout = Duration::from_millis(150);
    impatient.retry.max_attempts = 1;
    assert!(matches!(
        crate::commands::fetch_credentials(&args, &impatient),
        Err(crate::Error::Unavailable(_))
    ));
    let started = std::time::Instant::now();
    crate::commands::fetch_credentials(&args, &options).unwrap();
    assert!(started.elapsed() >= Duration::from_millis(400));
}

#[test]
fn answers_raw_requests_with_aws_shaped_errors() {
    let dir = tempfile::tempdir().unwrap();
    let root = ca("Root", None, |_| {});
    let (endpoint, ca_path) = start_endpoint(&root, dir.path(), |_| {});
    let tls = crate::tls::client_config(false, Some(&ca_path)).unwrap();
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .no_proxy()
        .build()
        .unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let base = endpoint.url();
    let cases = [
        (
            "POST",
            "/sessions?profileArn=x",
            400,
            "ValidationException",
            "missing header X-Amz-Date",
        ),
        (
            "GET",
            "/sessions",
            405,
            "MethodNotAllowedException",
            "use POST",
        ),
        (
            "POST",
            "/",
            404,
            "UnknownOperationException",
            "POST /sessions",
        ),
    ];
    for (method, path, status, error_type, text) in cases {
        let response = runtime.block_on(async {
            let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
            client
                .request(method, format!("{base}{path}"))
                .body("{}")
                .send()
                .await
                .unwrap()
        });
        assert_eq!(response.status().as_u16(), status);
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        assert_eq!(header("x-amzn-errortype").as_deref(), Some(error_type));
        assert_eq!(header("content-type").as_deref(), Some("application/json"));
        assert_eq!(header("x-amzn-requestid").map(|id| id.len()), Some(36));
        assert!(header("date").is_some_and(|d| d.ends_with(" GMT")));
        let body: serde_json::Value =
            serde_json::from_slice(&runtime.block_on(response.bytes()).unwrap()).unwrap();
        assert!(body["message"].as_str().unwrap().contains(text), "{body}");
    }
    assert_eq!(endpoint.records().len(), 3);
    assert!(
        endpoint
            .records()
            .iter()
            .all(|r| r.outcome == Outcome::Rejected)
    );
}

#[test]
fn binds_loopback_only_and_shuts_down() {
    let root = ca("Root", None, |_| {});
    let mut config = EndpointConfig::new(root.pem.as_bytes(), TA, PROFILE, vec![ROLE.to_string()]);
    config.listen = "0.0.0.0:0".parse().unwrap();
    assert!(matches!(
        start(config.clone()),
        Err(crate::Error::InvalidArgument { .. })
    ));
    config.listen = "[::1]:0".parse().unwrap();
    if let Ok(endpoint) = start(config.clone()) {
        assert!(endpoint.url().starts_with("https://[::1]:"));
    }
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.role_arns = vec!["arn:aws:iam::123456789012:user/u".into()];
    assert!(matches!(
        start(config.clone()),
        Err(crate::Error::InvalidArgument { .. })
    ));
    config.role_arns = vec![ROLE.into()];
    config.trust_anchor_ca_pem = b"not a certificate".to_vec();
    assert!(matches!(
        start(config.clone()),
        Err(crate::Error::BadInput { .. })
    ));
    // A leaf is no trust anchor.
    let leaf = leaf(&root, DemoKeyType::EcP256, |_| {});
    config.trust_anchor_ca_pem = pem::encode(&pem::Pem::new("CERTIFICATE", leaf.der)).into_bytes();
    assert!(matches!(
        start(config.clone()),
        Err(crate::Error::BadInput { .. })
    ));

    config.trust_anchor_ca_pem = root.pem.clone().into_bytes();
    let endpoint = start(config).unwrap();
    let addr = endpoint.local_addr();
    assert!(std::net::TcpStream::connect(addr).is_ok());
    endpoint.shutdown();
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[test]
fn writes_files_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ready");
    write_atomically(&path, b"https://127.0.0.1:1\n", "--ready-file").unwrap();
    write_atomically(&path, b"https://127.0.0.1:2\n", "--ready-file").unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "https://127.0.0.1:2\n"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temporary file left behind"
    );
    assert!(write_atomically(&dir.path().join("missing/ready"), b"x", "--ready-file").is_err());
}

#[test]
fn formats_http_dates() {
    assert_eq!(
        http_date(time::macros::datetime!(2025-11-26 07:05:09 UTC)),
        "Wed, 26 Nov 2025 07:05:09 GMT"
    );
}
