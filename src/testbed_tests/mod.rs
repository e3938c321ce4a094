//! The test bed (`rolesanywhere-testbed`) and its verifier against the helper's own signer and
//! client: what the signer signs is accepted, every refusal the verifier is meant to make, and
//! the endpoint over HTTPS with faults, records and the request log. They live in the helper
//! because they drive its internals; the verifier and the test bed cannot depend on it.

mod endpoint;
mod pki;
mod signer_against_verifier;
mod tampered_requests;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rolesanywhere_testbed::pki::{self as throwaway_pki, GeneratedKey, KeyKind};
use time::OffsetDateTime;
use zeroize::Zeroizing;

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

fn leaf(issuer: &Ca, key_type: KeyKind, customize: impl FnOnce(&mut CertificateParams)) -> Leaf {
    let key = GeneratedKey::generate(key_type).unwrap();
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
