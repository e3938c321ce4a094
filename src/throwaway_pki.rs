//! Throwaway PKI made with rcgen: a root CA, intermediates and leaf certificates for keys of every
//! type Roles Anywhere accepts, with the variations tests need (validity, CA flag, key usage).
//! For demos and tests only: nothing here is meant to protect anything.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SerialNumber, SubjectPublicKeyInfo,
};
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::identity::{MlDsaLevel, der, key_file as file};

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
    MlDsa(MlDsaLevel, MlDsaForm),
}

/// The PKCS#8 private-key forms OpenSSL 3.5 writes for ML-DSA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MlDsaForm {
    Seed,
    Expanded,
    Both,
}

/// A freshly generated private key in PKCS#8 DER, and its public key (SPKI DER).
pub struct GeneratedKey {
    pub kind: KeyKind,
    pub pkcs8_der: Zeroizing<Vec<u8>>,
    pub spki_der: Vec<u8>,
}

impl GeneratedKey {
    /// An ML-DSA key from `seed`, in PKCS#8 of the given form.
    pub fn ml_dsa(level: MlDsaLevel, form: MlDsaForm, seed: &[u8; 32]) -> Result<GeneratedKey> {
        #[allow(deprecated)] // the expanded form is what OpenSSL writes; tests need it
        fn expand<P: ml_dsa::MlDsaParams>(seed: &[u8; 32]) -> (Vec<u8>, Vec<u8>) {
            let key = ml_dsa::ExpandedSigningKey::<P>::from_seed(&ml_dsa::Seed::from(*seed));
            (
                key.to_expanded().to_vec(),
                key.verifying_key().encode().to_vec(),
            )
        }
        let (expanded, public) = match level {
            MlDsaLevel::L44 => expand::<ml_dsa::MlDsa44>(seed),
            MlDsaLevel::L65 => expand::<ml_dsa::MlDsa65>(seed),
            MlDsaLevel::L87 => expand::<ml_dsa::MlDsa87>(seed),
        };
        let private_key = match form {
            MlDsaForm::Seed => der::tlv(0x80, seed),
            MlDsaForm::Expanded => der::tlv(0x04, &expanded),
            MlDsaForm::Both => der::tlv(
                0x30,
                &[der::tlv(0x04, seed), der::tlv(0x04, &expanded)].concat(),
            ),
        };
        let oid = match level {
            MlDsaLevel::L44 => 17,
            MlDsaLevel::L65 => 18,
            MlDsaLevel::L87 => 19,
        };
        // id-ml-dsa-NN: 2.16.840.1.101.3.4.3.NN, with absent parameters.
        let algorithm = der::tlv(
            0x30,
            &[
                0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, oid,
            ],
        );
        let pkcs8 = der::tlv(
            0x30,
            &[
                &[0x02, 0x01, 0x00][..],
                &algorithm,
                &der::tlv(0x04, &private_key),
            ]
            .concat(),
        );
        let spki = der::tlv(
            0x30,
            &[
                algorithm.clone(),
                der::tlv(0x03, &[&[0u8][..], &public].concat()),
            ]
            .concat(),
        );
        Ok(GeneratedKey {
            kind: KeyKind::MlDsa(level, form),
            pkcs8_der: Zeroizing::new(pkcs8),
            spki_der: spki,
        })
    }

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
            KeyKind::MlDsa(level, form) => {
                let mut seed = Zeroizing::new([0u8; 32]);
                seed.copy_from_slice(&crate::support::random::bytes(32)?);
                return GeneratedKey::ml_dsa(level, form, &seed);
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
            // Longer than the 30 days under which the helper warns of an expiring certificate.
            not_after: now + Duration::days(90),
            is_ca: false,
            key_usage_digital_signature: true,
            serial: None,
        }
    }

    pub fn ca(common_name: &str) -> CertSpec {
        CertSpec {
            is_ca: true,
            not_after: OffsetDateTime::now_utc() + Duration::days(365),
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
    let mut serial = crate::support::random::bytes(16).unwrap_or_else(|_| vec![0; 16]);
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

/// Signs a certificate for `public_key_spki_der` with any rcgen issuer, including keys rcgen on
/// ring cannot encode (P-521, ML-DSA).
pub fn sign_certificate(
    params: CertificateParams,
    public_key_spki_der: &[u8],
    issuer: &rcgen::Issuer<'_, impl rcgen::SigningKey>,
) -> Result<IssuedCert> {
    match SubjectPublicKeyInfo::from_der(public_key_spki_der) {
        Ok(public_key) => {
            let cert = params.signed_by(&public_key, issuer).map_err(pki_error)?;
            Ok(IssuedCert {
                der: cert.der().to_vec(),
                pem: cert.pem(),
            })
        }
        Err(_) => sign_disguised(params, public_key_spki_der, issuer),
    }
}

/// rcgen makes the certificate for a stand-in P-256 key; its SubjectPublicKeyInfo is then
/// replaced by the real one in the TBS, which is signed again with the issuer's key.
fn sign_disguised(
    params: CertificateParams,
    real_spki: &[u8],
    issuer: &rcgen::Issuer<'_, impl rcgen::SigningKey>,
) -> Result<IssuedCert> {
    use rcgen::PublicKeyData as _;
    let stand_in = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).map_err(pki_error)?;
    let stand_in_spki = stand_in.subject_public_key_info();
    let cert = params.signed_by(&stand_in, issuer).map_err(pki_error)?;
    let der = cert.der().as_ref();
    let (_, parsed) = x509_parser::parse_x509_certificate(der).map_err(pki_error)?;
    let tbs = parsed.tbs_certificate.as_ref();
    let tbs_at = file::find(der, tbs).ok_or_else(|| pki_error("no TBS"))?;
    // The issuer's signature AlgorithmIdentifier follows the TBS, unchanged.
    let after_tbs = &der[tbs_at + tbs.len()..];
    let (_, _, after_algorithm) =
        der::element(after_tbs).ok_or_else(|| pki_error("bad signature algorithm"))?;
    let algorithm = &after_tbs[..after_tbs.len() - after_algorithm.len()];
    let (_, content, _) = der::element(tbs).ok_or_else(|| pki_error("bad TBS"))?;
    let spki_at =
        file::find(content, &stand_in_spki).ok_or_else(|| pki_error("no stand-in key"))?;
    let mut new_content = content[..spki_at].to_vec();
    new_content.extend_from_slice(real_spki);
    new_content.extend_from_slice(&content[spki_at + stand_in_spki.len()..]);
    let new_tbs = der::tlv(0x30, &new_content);
    let signature = issuer.key().sign(&new_tbs).map_err(pki_error)?;
    let mut bits = vec![0u8];
    bits.extend(signature);
    let mut certificate = new_tbs;
    certificate.extend_from_slice(algorithm);
    certificate.extend(der::tlv(0x03, &bits));
    let der = der::tlv(0x30, &certificate);
    let pem = pem::encode(&pem::Pem::new("CERTIFICATE", der.clone()));
    Ok(IssuedCert { der, pem })
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
    use crate::identity::certificate::Certificate;
    use crate::identity::{Signer, key_file as file};

    #[test]
    fn issues_leaves_whose_keys_match_for_every_key_kind() {
        let root = Authority::root("test root").unwrap();
        let root_der = root.cert_der();
        let (_, root_x509) = x509_parser::parse_x509_certificate(&root_der).unwrap();
        let mut failures = Vec::new();
        for kind in [
            KeyKind::EcP256,
            KeyKind::EcP384,
            KeyKind::EcP521,
            KeyKind::Rsa(2048),
        ] {
            let key = GeneratedKey::generate(kind).unwrap();
            let cert = root.issue(&CertSpec::leaf("leaf"), &key.spki_der).unwrap();
            let (_, x509) = x509_parser::parse_x509_certificate(&cert.der).unwrap();
            let parsed = Certificate::from_der(&cert.der, "test").unwrap();
            let signer = file::parse(key.pkcs8_pem().as_bytes(), "test").unwrap();
            let checks = [
                (
                    "the certificate carries the generated key",
                    x509.public_key().raw == &key.spki_der[..],
                ),
                (
                    "the key file's public key matches the certificate",
                    parsed
                        .check_key_matches(signer.public_key(), "cert", "key")
                        .is_ok(),
                ),
                ("issued by the root", x509.issuer() == root_x509.subject()),
                (
                    "signed by the root's key",
                    x509.verify_signature(Some(root_x509.public_key())).is_ok(),
                ),
                (
                    "valid now",
                    parsed
                        .check_validity(OffsetDateTime::now_utc(), "cert")
                        .is_ok(),
                ),
                (
                    "the subject is the leaf's name",
                    x509.subject().to_string().contains("CN=leaf"),
                ),
                (
                    "the PEM is the DER",
                    ::pem::parse(&cert.pem).map(|p| p.into_contents()).ok()
                        == Some(cert.der.clone()),
                ),
            ];
            for (what, held) in checks {
                if !held {
                    failures.push(format!("{kind:?}: {what}"));
                }
            }
        }
        assert!(
            failures.is_empty(),
            "failing rows:\n{}",
            failures.join("\n")
        );
    }
}
