//! Throwaway PKI made with rcgen: a root CA, intermediates and leaf certificates for keys of every
//! type Roles Anywhere accepts, with the variations tests need (validity, CA flag, key usage).
//! For demos and tests only: nothing here is meant to protect anything.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SerialNumber, SubjectPublicKeyInfo,
};
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

fn pki_error(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("throwaway PKI: {e}"))
}

/// The key types a leaf can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    EcP256,
    EcP384,
    EcP521,
    Rsa(usize),
}

/// A freshly generated private key in PKCS#8 DER, and its public key (SPKI DER).
pub struct GeneratedKey {
    pub kind: KeyKind,
    pub pkcs8_der: Zeroizing<Vec<u8>>,
    pub spki_der: Vec<u8>,
}

impl GeneratedKey {
    pub fn generate(kind: KeyKind) -> Result<GeneratedKey> {
        use pkcs8::{EncodePrivateKey, EncodePublicKey};
        use rsa::Generate as _;
        let (pkcs8_der, spki_der) = match kind {
            KeyKind::EcP256 => {
                let key = p256::SecretKey::try_generate().map_err(pki_error)?;
                (key.to_pkcs8_der().map_err(pki_error)?, key.public_key().to_public_key_der().map_err(pki_error)?)
            }
            KeyKind::EcP384 => {
                let key = p384::SecretKey::try_generate().map_err(pki_error)?;
                (key.to_pkcs8_der().map_err(pki_error)?, key.public_key().to_public_key_der().map_err(pki_error)?)
            }
            KeyKind::EcP521 => {
                let key = p521::SecretKey::try_generate().map_err(pki_error)?;
                (key.to_pkcs8_der().map_err(pki_error)?, key.public_key().to_public_key_der().map_err(pki_error)?)
            }
            KeyKind::Rsa(bits) => {
                let key = rsa::PrivateKey::new(&mut getrandom::SysRng, bits).map_err(pki_error)?;
                (key.to_pkcs8_der().map_err(pki_error)?, key.to_public_key().to_public_key_der().map_err(pki_error)?)
            }
        };
        Ok(GeneratedKey { kind, pkcs8_der: Zeroizing::new(pkcs8_der.as_bytes().to_vec()), spki_der: spki_der.into_vec() })
    }

    /// `-----BEGIN PRIVATE KEY-----` PEM.
    pub fn pkcs8_pem(&self) -> Zeroizing<String> {
        Zeroizing::new(pem::encode(&pem::Pem::new("PRIVATE KEY", self.pkcs8_der.to_vec())))
    }
}

/// What a certificate should look like; the defaults make a good Roles Anywhere leaf.
#[derive(Debug, Clone)]
pub struct CertSpec {
    pub common_name: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// `Some(path_len)` makes a CA (None = unconstrained when `is_ca`).
    pub is_ca: bool,
    pub key_usage_digital_signature: bool,
    pub serial: Option<Vec<u8>>,
}

impl CertSpec {
    pub fn leaf(common_name: &str) -> CertSpec {
        let now = OffsetDateTime::now_utc();
        CertSpec {
            common_name: common_name.to_string(),
            not_before: now - Duration::minutes(5),
            not_after: now + Duration::days(1),
            is_ca: false,
            key_usage_digital_signature: true,
            serial: None,
        }
    }

    pub fn ca(common_name: &str) -> CertSpec {
        CertSpec { is_ca: true, not_after: OffsetDateTime::now_utc() + Duration::days(30), ..CertSpec::leaf(common_name) }
    }

    fn params(&self) -> CertificateParams {
        let mut params = CertificateParams::default();
        let mut name = DistinguishedName::new();
        name.push(DnType::CommonName, self.common_name.clone());
        params.distinguished_name = name;
        params.not_before = self.not_before;
        params.not_after = self.not_after;
        params.serial_number = Some(SerialNumber::from_slice(&match &self.serial {
            Some(serial) => serial.clone(),
            None => random_serial(),
        }));
        params.use_authority_key_identifier_extension = true;
        if self.is_ca {
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        } else {
            params.is_ca = IsCa::ExplicitNoCa;
            params.key_usages = if self.key_usage_digital_signature {
                vec![KeyUsagePurpose::DigitalSignature]
            } else {
                vec![KeyUsagePurpose::KeyEncipherment]
            };
            params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        }
        params
    }
}

fn random_serial() -> Vec<u8> {
    let mut serial = [0u8; 16];
    // A failing OS RNG would leave zeros: still a valid (if unlucky) serial for a throwaway PKI.
    let _ = ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut serial);
    serial[0] &= 0x7f; // positive
    serial[0] |= 0x01; // no leading zero byte
    serial.to_vec()
}

/// A certificate authority (root or intermediate) with an ECDSA P-256 key.
pub struct Authority {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Authority {
    /// A self-signed root CA.
    pub fn root(common_name: &str) -> Result<Authority> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(pki_error)?;
        let issuer = CertifiedIssuer::self_signed(CertSpec::ca(common_name).params(), key).map_err(pki_error)?;
        Ok(Authority { issuer })
    }

    /// An intermediate CA signed by this one.
    pub fn intermediate(&self, common_name: &str) -> Result<Authority> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(pki_error)?;
        let issuer =
            CertifiedIssuer::signed_by(CertSpec::ca(common_name).params(), key, &self.issuer).map_err(pki_error)?;
        Ok(Authority { issuer })
    }

    pub fn cert_der(&self) -> Vec<u8> {
        self.issuer.der().to_vec()
    }

    pub fn cert_pem(&self) -> String {
        self.issuer.pem()
    }

    /// The CA's private key as PKCS#8 PEM, for tools that issue what rcgen cannot.
    pub fn key_pem(&self) -> Zeroizing<String> {
        Zeroizing::new(self.issuer.key().serialize_pem())
    }

    /// Issues a certificate for `public_key_spki_der` as `spec` says. rcgen on ring cannot
    /// encode P-521 public keys: issue those with another tool (the tests use openssl).
    pub fn issue(&self, spec: &CertSpec, public_key_spki_der: &[u8]) -> Result<IssuedCert> {
        let public_key = SubjectPublicKeyInfo::from_der(public_key_spki_der).map_err(pki_error)?;
        let cert = spec.params().signed_by(&public_key, &self.issuer).map_err(pki_error)?;
        Ok(IssuedCert { der: cert.der().to_vec(), pem: cert.pem() })
    }
}

/// An issued certificate.
#[derive(Debug, Clone)]
pub struct IssuedCert {
    pub der: Vec<u8>,
    pub pem: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certificate::Certificate;
    use crate::key_source::{Signer, file};

    #[test]
    fn issues_leaves_whose_keys_match_for_every_key_kind() {
        let root = Authority::root("test root").unwrap();
        for kind in [KeyKind::EcP256, KeyKind::EcP384, KeyKind::Rsa(2048)] {
            let key = GeneratedKey::generate(kind).unwrap();
            let cert = root.issue(&CertSpec::leaf("leaf"), &key.spki_der).unwrap();
            let parsed = Certificate::from_der(&cert.der, "test").unwrap();
            let signer = file::parse(key.pkcs8_pem().as_bytes(), "test").unwrap();
            parsed.check_key_matches(signer.public_key(), "cert", "key").unwrap();
            parsed.check_validity(OffsetDateTime::now_utc(), "cert").unwrap();
        }
    }
}
