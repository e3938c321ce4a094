//! Throwaway PKI made with rcgen: a root CA, intermediates and leaf certificates for keys of every
//! type Roles Anywhere accepts, with the variations tests need (validity, CA flag, key usage).
//! For demos and tests only: nothing here is meant to protect anything.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SerialNumber, SubjectPublicKeyInfo,
};
use time::{Duration, OffsetDateTime};
use x509_parser::prelude::FromDer;
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
                (
                    key.to_pkcs8_der().map_err(pki_error)?,
                    key.public_key().to_public_key_der().map_err(pki_error)?,
                )
            }
            KeyKind::EcP384 => {
                let key = p384::SecretKey::try_generate().map_err(pki_error)?;
                (
                    key.to_pkcs8_der().map_err(pki_error)?,
                    key.public_key().to_public_key_der().map_err(pki_error)?,
                )
            }
            KeyKind::EcP521 => {
                let key = p521::SecretKey::try_generate().map_err(pki_error)?;
                (
                    key.to_pkcs8_der().map_err(pki_error)?,
                    key.public_key().to_public_key_der().map_err(pki_error)?,
                )
            }
            KeyKind::Rsa(bits) => {
                let key = rsa::PrivateKey::new(&mut getrandom::SysRng, bits).map_err(pki_error)?;
                (
                    key.to_pkcs8_der().map_err(pki_error)?,
                    key.to_public_key().to_public_key_der().map_err(pki_error)?,
                )
            }
        };
        Ok(GeneratedKey {
            kind,
            pkcs8_der: Zeroizing::new(pkcs8_der.as_bytes().to_vec()),
            spki_der: spki_der.into_vec(),
        })
    }

    /// `-----BEGIN PRIVATE KEY-----` PEM.
    pub fn pkcs8_pem(&self) -> Zeroizing<String> {
        Zeroizing::new(pem::encode(&pem::Pem::new(
            "PRIVATE KEY",
            self.pkcs8_der.to_vec(),
        )))
    }
}

/// What a certificate should look like; the defaults make a good Roles Anywhere leaf.
#[derive(Debug, Clone)]
pub struct CertSpec {
    pub common_name: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// A CA (basicConstraints CA:true, keyCertSign) rather than a leaf.
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
        CertSpec {
            is_ca: true,
            not_after: OffsetDateTime::now_utc() + Duration::days(30),
            ..CertSpec::leaf(common_name)
        }
    }

    pub fn params(&self) -> CertificateParams {
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
    // A failing OS RNG would leave zeros: still a valid (if unlucky) serial for a throwaway PKI.
    let mut serial = crate::random::bytes(16).unwrap_or_else(|_| vec![0; 16]);
    serial[0] &= 0x7f; // positive
    serial[0] |= 0x01; // no leading zero byte
    serial
}

/// A certificate authority (root or intermediate) with an ECDSA P-256 key.
pub struct Authority {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Authority {
    /// A self-signed root CA.
    pub fn root(common_name: &str) -> Result<Authority> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(pki_error)?;
        let issuer = CertifiedIssuer::self_signed(CertSpec::ca(common_name).params(), key)
            .map_err(pki_error)?;
        Ok(Authority { issuer })
    }

    /// An intermediate CA signed by this one.
    pub fn intermediate(&self, common_name: &str) -> Result<Authority> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(pki_error)?;
        let issuer =
            CertifiedIssuer::signed_by(CertSpec::ca(common_name).params(), key, &self.issuer)
                .map_err(pki_error)?;
        Ok(Authority { issuer })
    }

    pub fn cert_der(&self) -> Vec<u8> {
        self.issuer.der().to_vec()
    }

    pub fn cert_pem(&self) -> String {
        self.issuer.pem()
    }

    /// Issues a certificate for `public_key_spki_der` as `spec` says.
    pub fn issue(&self, spec: &CertSpec, public_key_spki_der: &[u8]) -> Result<IssuedCert> {
        self.issue_with(spec.params(), public_key_spki_der)
    }

    /// Issues a certificate from rcgen parameters, for tests that need unusual certificates.
    pub fn issue_with(
        &self,
        params: CertificateParams,
        public_key_spki_der: &[u8],
    ) -> Result<IssuedCert> {
        sign_certificate(params, public_key_spki_der, &self.issuer)
    }
}

/// Signs a certificate for `public_key_spki_der` with any rcgen issuer, P-521 keys included.
pub fn sign_certificate(
    params: CertificateParams,
    public_key_spki_der: &[u8],
    issuer: &rcgen::Issuer<'_, impl rcgen::SigningKey>,
) -> Result<IssuedCert> {
    let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(public_key_spki_der)
        .map_err(pki_error)?;
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok())
        .map(|o| o.to_id_string());
    if curve.as_deref() == Some("1.3.132.0.35") {
        return sign_p521(params, &spki.subject_public_key.data, issuer);
    }
    let public_key = SubjectPublicKeyInfo::from_der(public_key_spki_der).map_err(pki_error)?;
    let cert = params.signed_by(&public_key, issuer).map_err(pki_error)?;
    Ok(IssuedCert {
        der: cert.der().to_vec(),
        pem: cert.pem(),
    })
}

/// rcgen on ring cannot encode P-521 keys: the certificate is made for a "P-384" key holding the
/// P-521 point, the curve OID is patched (same length), and the TBS is signed again.
fn sign_p521(
    params: CertificateParams,
    point: &[u8],
    issuer: &rcgen::Issuer<'_, impl rcgen::SigningKey>,
) -> Result<IssuedCert> {
    let disguised = RawPublicKey {
        subject_public_key: point.to_vec(),
        algorithm: &rcgen::PKCS_ECDSA_P384_SHA384,
    };
    let cert = params.signed_by(&disguised, issuer).map_err(pki_error)?;
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.der()).map_err(pki_error)?;
    let original_tbs = parsed.tbs_certificate.as_ref();
    // The issuer's signature AlgorithmIdentifier follows the TBS in the certificate, unchanged.
    let der = cert.der().as_ref();
    let tbs_end = der
        .windows(original_tbs.len())
        .position(|w| w == original_tbs)
        .ok_or_else(|| pki_error("no TBS"))?
        + original_tbs.len();
    let algorithm_len = match der.get(tbs_end + 1) {
        Some(&n) if n < 0x80 => 2 + n as usize,
        Some(0x81) => 3 + *der.get(tbs_end + 2).ok_or_else(|| pki_error("short"))? as usize,
        _ => return Err(pki_error("unexpected signature algorithm encoding")),
    };
    let algorithm = der
        .get(tbs_end..tbs_end + algorithm_len)
        .ok_or_else(|| pki_error("short"))?
        .to_vec();
    let mut tbs = original_tbs.to_vec();
    const P384_OID: [u8; 7] = [0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
    let at = tbs
        .windows(P384_OID.len())
        .position(|w| w == P384_OID)
        .ok_or_else(|| pki_error("no curve OID"))?;
    tbs[at + 6] = 0x23; // secp521r1
    let signature = issuer.key().sign(&tbs).map_err(pki_error)?;
    let mut bits = vec![0u8];
    bits.extend(signature);
    let mut content = tbs;
    content.extend_from_slice(&algorithm);
    content.extend(der_tlv(0x03, &bits));
    let der = der_tlv(0x30, &content);
    let pem = pem::encode(&pem::Pem::new("CERTIFICATE", der.clone()));
    Ok(IssuedCert { der, pem })
}

fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match content.len() {
        n @ 0..=127 => out.push(n as u8),
        n @ 128..=255 => out.extend([0x81, n as u8]),
        n => out.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(content);
    out
}

/// A public key rcgen can put in a certificate without holding its private half.
pub struct RawPublicKey {
    /// The subjectPublicKey bits: PKCS#1 `RSAPublicKey` DER, or the SEC1 point.
    pub subject_public_key: Vec<u8>,
    pub algorithm: &'static rcgen::SignatureAlgorithm,
}

impl rcgen::PublicKeyData for RawPublicKey {
    fn der_bytes(&self) -> &[u8] {
        &self.subject_public_key
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.algorithm
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
        for kind in [
            KeyKind::EcP256,
            KeyKind::EcP384,
            KeyKind::EcP521,
            KeyKind::Rsa(2048),
        ] {
            let key = GeneratedKey::generate(kind).unwrap();
            let cert = root.issue(&CertSpec::leaf("leaf"), &key.spki_der).unwrap();
            let parsed = Certificate::from_der(&cert.der, "test").unwrap();
            let signer = file::parse(key.pkcs8_pem().as_bytes(), "test").unwrap();
            parsed
                .check_key_matches(signer.public_key(), "cert", "key")
                .unwrap();
            parsed
                .check_validity(OffsetDateTime::now_utc(), "cert")
                .unwrap();
        }
    }
}
