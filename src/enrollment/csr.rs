//! PKCS#10 certificate signing requests (RFC 2986) signed by a key wherever it lives: what the
//! request asks for ([`RequestContent`], from flags or copied from a certificate), and
//! [`build_request`], which signs it through the identity stage's [`Signer`].

use std::net::IpAddr;

use x509_cert::der::Encode;
use x509_cert::der::asn1::{Any, BitString, Ia5String, Null, ObjectIdentifier, OctetString};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::request::{CertReq, CertReqInfo, ExtensionReq, Version};
use x509_cert::spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_parser::extensions::GeneralName as ParsedName;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::subject::Subject;
use crate::error::{Error, Result};
use crate::identity::certificate::Certificate;
use crate::identity::{Curve, Digest, PublicKey, Signer};

/// What a request asks the CA to certify besides the key: the subject and the subject
/// alternative names (sent as an `extensionRequest` attribute).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RequestContent {
    /// The subject.
    pub subject: Subject,
    /// `dNSName` SANs.
    pub dns_names: Vec<String>,
    /// `uniformResourceIdentifier` SANs (`spiffe://…`, `urn:…`).
    pub uris: Vec<String>,
    /// `iPAddress` SANs.
    pub ip_addresses: Vec<IpAddr>,
    /// `rfc822Name` SANs (copied from a certificate).
    pub emails: Vec<String>,
}

impl RequestContent {
    /// The content `csr`'s flags ask for: `--subject` (RFC 4514), `--dns`, `--uri`, `--ip`,
    /// each checked; errors name the flag and the value that is wrong.
    pub fn from_flags(
        subject: &str,
        dns_names: &[String],
        uris: &[String],
        ip_addresses: &[String],
    ) -> Result<RequestContent> {
        let mut content = RequestContent {
            subject: Subject::parse(subject)?,
            ..RequestContent::default()
        };
        content.add_names(dns_names, uris, ip_addresses)?;
        Ok(content)
    }

    /// Adds `--dns`, `--uri` and `--ip` names, each checked.
    pub fn add_names(
        &mut self,
        dns_names: &[String],
        uris: &[String],
        ip_addresses: &[String],
    ) -> Result<()> {
        for name in dns_names {
            check_dns_name(name)?;
        }
        for uri in uris {
            check_uri(uri)?;
        }
        for ip in ip_addresses {
            self.ip_addresses
                .push(ip.trim().parse::<IpAddr>().map_err(|_| {
                    Error::invalid_argument(
                        "--ip",
                        format!("'{ip}' is not an IPv4 or IPv6 address"),
                    )
                })?);
        }
        self.dns_names.extend_from_slice(dns_names);
        self.uris.extend_from_slice(uris);
        Ok(())
    }

    /// The subject and SANs of an existing certificate, to renew it for the same names.
    /// `input` names the certificate in errors.
    pub fn from_certificate(certificate: &Certificate, input: &str) -> Result<RequestContent> {
        let bad = |why: String| Error::bad_input(input, why);
        let (_, parsed) = X509Certificate::from_der(&certificate.der)
            .map_err(|e| bad(format!("not a valid X.509 certificate: {e}")))?;
        let subject = Subject::from_name_der(parsed.subject().as_raw(), input)?;
        let mut content = RequestContent {
            subject,
            ..RequestContent::default()
        };
        let sans = parsed
            .subject_alternative_name()
            .map_err(|e| bad(format!("its subjectAltName extension is malformed: {e}")))?;
        for name in sans.iter().flat_map(|ext| ext.value.general_names.iter()) {
            match name {
                ParsedName::DNSName(dns) => content.dns_names.push(dns.to_string()),
                ParsedName::URI(uri) => content.uris.push(uri.to_string()),
                ParsedName::RFC822Name(email) => content.emails.push(email.to_string()),
                ParsedName::IPAddress(bytes) => {
                    content
                        .ip_addresses
                        .push(ip_from_bytes(bytes).ok_or_else(|| {
                            bad(format!(
                                "its subjectAltName holds a {}-byte IP address",
                                bytes.len()
                            ))
                        })?)
                }
                other => {
                    return Err(bad(format!(
                        "its subjectAltName holds {other}, which a request cannot copy; only DNS names, URIs, IP addresses and e-mail addresses are copied"
                    )));
                }
            }
        }
        Ok(content)
    }

    fn subject_alt_names(&self) -> Result<Vec<GeneralName>> {
        let ia5 = |flag: &str, value: &str| {
            Ia5String::new(value)
                .map_err(|_| Error::invalid_argument(flag, format!("'{value}' must be ASCII")))
        };
        let mut names = Vec::new();
        for dns in &self.dns_names {
            names.push(GeneralName::DnsName(ia5("--dns", dns)?));
        }
        for uri in &self.uris {
            names.push(GeneralName::UniformResourceIdentifier(ia5("--uri", uri)?));
        }
        for ip in &self.ip_addresses {
            names.push(GeneralName::from(*ip));
        }
        for email in &self.emails {
            names.push(GeneralName::Rfc822Name(ia5("e-mail address", email)?));
        }
        Ok(names)
    }
}

/// The PEM `CERTIFICATE REQUEST` for `content`, signed by `signer`: RSA keys sign with SHA-256
/// and PKCS#1 v1.5, EC keys with ECDSA and SHA-256 (P-256), SHA-384 (P-384) or SHA-512 (P-521),
/// ML-DSA keys with pure ML-DSA.
pub fn build_request(content: &RequestContent, signer: &dyn Signer) -> Result<String> {
    let der = build_request_der(content, signer)?;
    Ok(pem::encode_config(
        &pem::Pem::new("CERTIFICATE REQUEST", der),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    ))
}

/// The DER of the request [`build_request`] writes.
pub fn build_request_der(content: &RequestContent, signer: &dyn Signer) -> Result<Vec<u8>> {
    let encoding = |e: x509_cert::der::Error| Error::Internal(format!("encoding the request: {e}"));
    let key = signer.public_key();
    let (signature_algorithm, digest) = signature_algorithm(key)?;
    let mut attributes = x509_cert::attr::Attributes::new();
    let names = content.subject_alt_names()?;
    if !names.is_empty() {
        let san = SubjectAltName(names);
        let extension = Extension {
            extn_id: ObjectIdentifier::new_unwrap("2.5.29.17"),
            // RFC 5280 4.2.1.6: critical when the subject is empty.
            critical: content.subject.rdns.is_empty(),
            extn_value: OctetString::new(san.to_der().map_err(encoding)?).map_err(encoding)?,
        };
        let attribute = ExtensionReq(vec![extension]).try_into().map_err(encoding)?;
        attributes.insert(attribute).map_err(encoding)?;
    }
    let info = CertReqInfo {
        version: Version::V1,
        subject: content.subject.to_name()?,
        public_key: subject_public_key_info(key)?,
        attributes,
    };
    let to_be_signed = info.to_der().map_err(encoding)?;
    let signature = signer.sign(&to_be_signed, digest)?;
    let request = CertReq {
        info,
        algorithm: signature_algorithm,
        signature: BitString::from_bytes(&signature).map_err(encoding)?,
    };
    request.to_der().map_err(encoding)
}

/// The request's signature algorithm for a key, and the digest its signer hashes with.
fn signature_algorithm(key: &PublicKey) -> Result<(AlgorithmIdentifierOwned, Digest)> {
    let (oid, parameters, digest) = match key {
        // sha256WithRSAEncryption, with the NULL parameters RFC 4055 asks for.
        PublicKey::Rsa { .. } => ("1.2.840.113549.1.1.11", Some(null()?), Digest::Sha256),
        PublicKey::Ec { curve, .. } => match curve {
            Curve::P256 => ("1.2.840.10045.4.3.2", None, Digest::Sha256),
            Curve::P384 => ("1.2.840.10045.4.3.3", None, Digest::Sha384),
            Curve::P521 => ("1.2.840.10045.4.3.4", None, Digest::Sha512),
        },
        // Pure ML-DSA (RFC 9881): the key's own OID, no parameters; the digest is unused.
        PublicKey::MlDsa { level, .. } => (level.oid(), None, Digest::Sha256),
    };
    Ok((algorithm(oid, parameters), digest))
}

fn subject_public_key_info(key: &PublicKey) -> Result<SubjectPublicKeyInfoOwned> {
    let (algorithm, bits) = match key {
        PublicKey::Rsa { pkcs1_der, .. } => (
            algorithm("1.2.840.113549.1.1.1", Some(null()?)),
            pkcs1_der.as_slice(),
        ),
        PublicKey::Ec { curve, point } => {
            let named_curve = Any::encode_from(&ObjectIdentifier::new_unwrap(curve.oid()))
                .map_err(|e| Error::Internal(format!("encoding the curve: {e}")))?;
            (
                algorithm("1.2.840.10045.2.1", Some(named_curve)),
                point.as_slice(),
            )
        }
        PublicKey::MlDsa { level, encoded } => (algorithm(level.oid(), None), encoded.as_slice()),
    };
    Ok(SubjectPublicKeyInfoOwned {
        algorithm,
        subject_public_key: BitString::from_bytes(bits)
            .map_err(|e| Error::Internal(format!("encoding the public key: {e}")))?,
    })
}

/// An algorithm identifier from one of the constant OIDs above.
fn algorithm(oid: &'static str, parameters: Option<Any>) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid: ObjectIdentifier::new_unwrap(oid),
        parameters,
    }
}

fn null() -> Result<Any> {
    Any::encode_from(&Null).map_err(|e| Error::Internal(format!("encoding NULL: {e}")))
}

fn ip_from_bytes(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

/// A DNS name a CA can certify: ASCII labels of letters, digits, `-` and `_`, 1 to 63
/// characters each, a `*` only as the whole first label.
fn check_dns_name(name: &str) -> Result<()> {
    let wrong = |why: &str| Error::invalid_argument("--dns", format!("'{name}' {why}"));
    if name.is_empty() {
        return Err(wrong("is empty"));
    }
    if !name.is_ascii() {
        return Err(wrong(
            "is not ASCII; write an internationalised name in its xn-- (punycode) form",
        ));
    }
    if name.len() > 253 {
        return Err(wrong("is longer than 253 characters"));
    }
    for (index, label) in name.split('.').enumerate() {
        if index == 0 && label == "*" {
            continue;
        }
        if label.is_empty() || label.len() > 63 {
            return Err(wrong("has an empty label or one longer than 63 characters"));
        }
        if !label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(wrong(
                "may hold only letters, digits, '-', '_' and dots (and '*' as the first label)",
            ));
        }
    }
    Ok(())
}

/// An absolute URI (with a scheme), ASCII as an IA5String must be.
fn check_uri(uri: &str) -> Result<()> {
    let wrong = |why: &str| Error::invalid_argument("--uri", format!("'{uri}' {why}"));
    if !uri.is_ascii()
        || uri
            .chars()
            .any(|c| c.is_ascii_whitespace() || c.is_ascii_control())
    {
        return Err(wrong(
            "must be ASCII without spaces; percent-encode other characters",
        ));
    }
    url::Url::parse(uri).map(|_| ()).map_err(|e| {
        wrong(&format!(
            "is not an absolute URI such as spiffe://example.org/device-1 ({e})"
        ))
    })
}

#[cfg(test)]
mod tests {
    use rcgen::{DnType, SanType};
    use rolesanywhere_testbed::pki::{
        Authority, CertSpec, GeneratedKey, KeyKind, MlDsaForm, MlDsaLevel as TestLevel,
    };
    use x509_parser::certification_request::X509CertificationRequest;
    use x509_parser::extensions::ParsedExtension;

    use super::*;
    use crate::identity::key_file;
    use crate::identity::mldsa;

    fn content() -> RequestContent {
        RequestContent::from_flags(
            "CN=device-1,OU=edge,O=Example Corp,C=US",
            &[
                "device-1.example.com".into(),
                "*.devices.example.com".into(),
            ],
            &["spiffe://example.org/device-1".into()],
            &["192.0.2.10".into(), "2001:db8::1".into()],
        )
        .unwrap()
    }

    /// The SANs a request asks for, as text (`DNS:…`, `URI:…`, `IP:…`, `email:…`).
    fn requested_names(request: &X509CertificationRequest<'_>) -> Vec<String> {
        let mut names = Vec::new();
        for extension in request.requested_extensions().into_iter().flatten() {
            if let ParsedExtension::SubjectAlternativeName(san) = extension {
                for name in &san.general_names {
                    names.push(match name {
                        ParsedName::DNSName(d) => format!("DNS:{d}"),
                        ParsedName::URI(u) => format!("URI:{u}"),
                        ParsedName::RFC822Name(e) => format!("email:{e}"),
                        ParsedName::IPAddress(b) => format!("IP:{}", ip_from_bytes(b).unwrap()),
                        other => format!("{other}"),
                    });
                }
            }
        }
        names
    }

    /// Verifies the request's signature with a verifier other than the signer.
    fn signature_verifies(request: &X509CertificationRequest<'_>, key: &PublicKey) -> bool {
        let message = request.certification_request_info.raw;
        let signature: &[u8] = &request.signature_value.data;
        match key {
            PublicKey::Ec {
                curve: Curve::P521,
                point,
            } => {
                use p521::ecdsa::signature::hazmat::PrehashVerifier;
                let digest = Digest::Sha512.hash(message);
                let verifying = p521::ecdsa::VerifyingKey::from_sec1_bytes(point).unwrap();
                let signature = p521::ecdsa::Signature::from_der(signature).unwrap();
                verifying.verify_prehash(&digest, &signature).is_ok()
            }
            PublicKey::MlDsa { level, encoded } => {
                mldsa::verify(*level, encoded, message, signature)
            }
            _ => request.verify_signature().is_ok(),
        }
    }

    #[test]
    fn requests_are_signed_by_every_key_kind_with_its_algorithm_and_carry_what_was_asked() {
        let kinds = [
            (KeyKind::EcP256, "1.2.840.10045.4.3.2"),
            (KeyKind::EcP384, "1.2.840.10045.4.3.3"),
            (KeyKind::EcP521, "1.2.840.10045.4.3.4"),
            (KeyKind::Rsa(2048), "1.2.840.113549.1.1.11"),
            (
                KeyKind::MlDsa(TestLevel::L44, MlDsaForm::Seed),
                "2.16.840.1.101.3.4.3.17",
            ),
        ];
        let content = content();
        let mut failures = Vec::new();
        for (kind, algorithm_oid) in kinds {
            let key = GeneratedKey::generate(kind).unwrap();
            let signer = key_file::parse(key.pkcs8_pem().as_bytes(), "test").unwrap();
            let pem_text = build_request(&content, &signer).unwrap();
            let block = ::pem::parse(&pem_text).unwrap();
            let (rest, request) = X509CertificationRequest::from_der(block.contents()).unwrap();
            let info = &request.certification_request_info;
            let checks = [
                ("PEM label", block.tag() == "CERTIFICATE REQUEST"),
                ("LF line endings", !pem_text.contains('\r')),
                ("nothing after the request", rest.is_empty()),
                ("version 0", info.version.0 == 0),
                (
                    "signature algorithm",
                    request.signature_algorithm.algorithm.to_id_string() == algorithm_oid,
                ),
                (
                    "RSA signature parameters are NULL, others absent",
                    match kind {
                        KeyKind::Rsa(_) => request
                            .signature_algorithm
                            .parameters
                            .as_ref()
                            .is_some_and(|p| p.header.tag().0 == 5),
                        _ => request.signature_algorithm.parameters.is_none(),
                    },
                ),
                (
                    "the key's own public key",
                    info.subject_pki.raw == key.spki_der,
                ),
                (
                    "signed by the key",
                    signature_verifies(&request, signer.public_key()),
                ),
                (
                    "the subject as asked, C first",
                    info.subject.to_string() == "C=US, O=Example Corp, OU=edge, CN=device-1",
                ),
                (
                    "the SANs in an extension request",
                    requested_names(&request)
                        == [
                            "DNS:device-1.example.com",
                            "DNS:*.devices.example.com",
                            "URI:spiffe://example.org/device-1",
                            "IP:192.0.2.10",
                            "IP:2001:db8::1",
                        ],
                ),
            ];
            for (what, held) in checks {
                if !held {
                    failures.push(format!("{kind:?}: {what}"));
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn a_request_without_sans_has_no_extension_request() {
        let key = GeneratedKey::generate(KeyKind::EcP256).unwrap();
        let signer = key_file::parse(key.pkcs8_pem().as_bytes(), "test").unwrap();
        let content = RequestContent::from_flags("CN=plain", &[], &[], &[]).unwrap();
        let der = build_request_der(&content, &signer).unwrap();
        let (_, request) = X509CertificationRequest::from_der(&der).unwrap();
        assert!(request.certification_request_info.attributes().is_empty());
        assert!(request.verify_signature().is_ok());
    }

    #[test]
    fn a_renewal_request_copies_the_certificates_subject_byte_for_byte_and_its_sans() {
        let key = GeneratedKey::generate(KeyKind::EcP256).unwrap();
        let mut params = CertSpec::leaf("device-7").params();
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Example, Inc.");
        params.distinguished_name.push(DnType::CountryName, "DE");
        params.subject_alt_names = vec![
            SanType::DnsName("device-7.example.com".try_into().unwrap()),
            SanType::URI("spiffe://example.org/device-7".try_into().unwrap()),
            SanType::IpAddress("10.1.2.3".parse().unwrap()),
            SanType::Rfc822Name("ops@example.com".try_into().unwrap()),
        ];
        let issued = Authority::root("root")
            .unwrap()
            .issue_with(params, &key.spki_der)
            .unwrap();
        let certificate = Certificate::from_der(&issued.der, "cert").unwrap();
        let content = RequestContent::from_certificate(&certificate, "cert").unwrap();
        let signer = key_file::parse(key.pkcs8_pem().as_bytes(), "test").unwrap();
        let der = build_request_der(&content, &signer).unwrap();
        let (_, request) = X509CertificationRequest::from_der(&der).unwrap();
        let (_, parsed) = X509Certificate::from_der(&issued.der).unwrap();
        assert_eq!(
            request.certification_request_info.subject.as_raw(),
            parsed.subject().as_raw()
        );
        assert_eq!(
            requested_names(&request),
            [
                "DNS:device-7.example.com",
                "URI:spiffe://example.org/device-7",
                "IP:10.1.2.3",
                "email:ops@example.com"
            ]
        );
        assert!(request.verify_signature().is_ok());
    }

    #[test]
    fn bad_san_flags_are_refused_naming_the_flag_and_value() {
        // (--dns values, --uri values, --ip values, what the error says)
        type Case = (
            &'static [&'static str],
            &'static [&'static str],
            &'static [&'static str],
            &'static str,
        );
        let cases: &[Case] = &[
            (&[""], &[], &[], "--dns: '' is empty"),
            (
                &["bad name.example"],
                &[],
                &[],
                "--dns: 'bad name.example' may hold only",
            ),
            (&["a..b"], &[], &[], "--dns: 'a..b' has an empty label"),
            (&["bücher.example"], &[], &[], "xn-- (punycode)"),
            (
                &["a.*.example"],
                &[],
                &[],
                "--dns: 'a.*.example' may hold only",
            ),
            (
                &[],
                &["no-scheme"],
                &[],
                "--uri: 'no-scheme' is not an absolute URI",
            ),
            (
                &[],
                &["spiffe://x/ü"],
                &[],
                "--uri: 'spiffe://x/ü' must be ASCII",
            ),
            (
                &[],
                &[],
                &["300.1.1.1"],
                "--ip: '300.1.1.1' is not an IPv4 or IPv6 address",
            ),
            (&[], &[], &["host.example"], "--ip: 'host.example' is not"),
        ];
        let owned = |values: &[&str]| values.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let mut failures = Vec::new();
        for (dns, uris, ips, expected) in cases {
            match RequestContent::from_flags("CN=x", &owned(dns), &owned(uris), &owned(ips)) {
                Ok(_) => failures.push(format!("{dns:?} {uris:?} {ips:?}: accepted")),
                Err(e) if e.to_string().contains(expected) && e.exit_code() == 2 => {}
                Err(e) => failures.push(format!("{expected}: said {e}")),
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}
