//! Throwaway PKI made with rcgen: a root CA, intermediates and leaf certificates for keys of every
//! type Roles Anywhere accepts, with the variations tests need (validity, CA flag, key usage).
//! For demos and tests only: nothing here is meant to protect anything.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose, SerialNumber, SubjectPublicKeyInfo,
};
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

pub use rolesanywhere_verifier::MlDsaLevel;

use crate::der;
use crate::error::{Error, Result};

fn pki_error(e: impl std::fmt::Display) -> Error {
    Error::Internal(format!("throwaway PKI: {e}"))
}

/// The key types a leaf can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    /// ECDSA on P-256.
    EcP256,
    /// ECDSA on P-384.
    EcP384,
    /// ECDSA on P-521.
    EcP521,
    /// RSA with a modulus of this many bits.
    Rsa(usize),
    /// ML-DSA of a level, written in one of the PKCS#8 forms.
    MlDsa(MlDsaLevel, MlDsaForm),
}

/// The PKCS#8 private-key forms OpenSSL 3.5 writes for ML-DSA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MlDsaForm {
    /// The 32-byte seed only.
    Seed,
    /// The expanded private key only.
    Expanded,
    /// Both, in a SEQUENCE.
    Both,
}

/// A freshly generated private key in PKCS#8 DER, and its public key (SPKI DER).
pub struct GeneratedKey {
    /// What kind of key it is.
    pub kind: KeyKind,
    /// The private key, PKCS#8 DER.
    pub pkcs8_der: Zeroizing<Vec<u8>>,
    /// The public key, SubjectPublicKeyInfo DER.
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

    /// A new random key of `kind`.
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
                getrandom::fill(seed.as_mut_slice()).map_err(pki_error)?;
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
    /// The subject's only attribute.
    pub common_name: String,
    /// Valid from.
    pub not_before: OffsetDateTime,
    /// Valid until.
    pub not_after: OffsetDateTime,
    /// A CA (basicConstraints CA:true, keyCertSign) rather than a leaf.
    pub is_ca: bool,
    /// keyUsage digitalSignature (else keyEncipherment), for a leaf.
    pub key_usage_digital_signature: bool,
    /// The serial number's bytes; `None` picks a random one.
    pub serial: Option<Vec<u8>>,
}

impl CertSpec {
    /// A good Roles Anywhere leaf: CA:false, digitalSignature, clientAuth, valid from five
    /// minutes ago for 90 days.
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

    /// A CA certificate valid for a year.
    pub fn ca(common_name: &str) -> CertSpec {
        CertSpec {
            is_ca: true,
            not_after: OffsetDateTime::now_utc() + Duration::days(365),
            ..CertSpec::leaf(common_name)
        }
    }

    /// The rcgen parameters for this spec, to adjust before issuing with [`Authority::issue_with`].
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
    let mut serial = vec![0u8; 16];
    let _ = getrandom::fill(&mut serial);
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

    /// The CA's certificate, DER.
    pub fn cert_der(&self) -> Vec<u8> {
        self.issuer.der().to_vec()
    }

    /// The CA's certificate, PEM.
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
    let tbs_at = der::find(der, tbs).ok_or_else(|| pki_error("no TBS"))?;
    // The issuer's signature AlgorithmIdentifier follows the TBS, unchanged.
    let after_tbs = &der[tbs_at + tbs.len()..];
    let (_, _, after_algorithm) =
        der::element(after_tbs).ok_or_else(|| pki_error("bad signature algorithm"))?;
    let algorithm = &after_tbs[..after_tbs.len() - after_algorithm.len()];
    let (_, content, _) = der::element(tbs).ok_or_else(|| pki_error("bad TBS"))?;
    let spki_at = der::find(content, &stand_in_spki).ok_or_else(|| pki_error("no stand-in key"))?;
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
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// The certificate, PEM.
    pub pem: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_leaves_the_verifier_accepts_for_every_key_kind() {
        let root = Authority::root("test root").unwrap();
        let anchors = rolesanywhere_verifier::load_anchors(root.cert_pem().as_bytes()).unwrap();
        for (kind, described) in [
            (KeyKind::EcP256, "EC P-256"),
            (KeyKind::EcP384, "EC P-384"),
            (KeyKind::EcP521, "EC P-521"),
            (KeyKind::Rsa(2048), "RSA 2048"),
            (
                KeyKind::MlDsa(MlDsaLevel::L65, MlDsaForm::Seed),
                "ML-DSA-65",
            ),
        ] {
            let key = GeneratedKey::generate(kind).unwrap();
            let cert = root.issue(&CertSpec::leaf("leaf"), &key.spki_der).unwrap();
            let verified = rolesanywhere_verifier::verify_chain(
                &cert.der,
                &[],
                &anchors,
                OffsetDateTime::now_utc(),
            )
            .unwrap_or_else(|e| panic!("{kind:?}: {e}"));
            assert_eq!(verified.leaf_key.describe(), described);
            assert_eq!(verified.anchor_subject, "CN=test root");
        }
    }
}
