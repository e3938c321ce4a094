//! What the endpoint demands of the certificates (DESIGN §1): the leaf is an X.509 v3 end-entity
//! certificate for digital signatures, signed with SHA-256 or stronger, valid now, and chains
//! through the intermediates sent in `X-Amz-X509-Chain` to one of the trust anchor's CAs, in at
//! most five certificates; and the request signature made with the leaf's key.
//!
//! Signatures are checked here with `ring` (and RustCrypto's verifying code where ring lacks a
//! curve), never with the signing code the client uses.

use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey as ParsedKey;

/// The most certificates a path may hold, leaf and trust anchor included.
pub const MAX_PATH_LEN: usize = 5;

const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_EC: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_P521: &str = "1.3.132.0.35";
const OID_ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
const OID_ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";
const OID_ECDSA_SHA512: &str = "1.2.840.10045.4.3.4";

/// Certificate signature algorithms accepted as "SHA-256 or stronger".
const STRONG_SIGNATURE_ALGORITHMS: &[(&str, &str)] = &[
    ("1.2.840.113549.1.1.11", "sha256WithRSAEncryption"),
    ("1.2.840.113549.1.1.12", "sha384WithRSAEncryption"),
    ("1.2.840.113549.1.1.13", "sha512WithRSAEncryption"),
    // RSASSA-PSS: the hash in its parameters is checked when the signature is verified (SHA-1 fails).
    ("1.2.840.113549.1.1.10", "RSASSA-PSS"),
    (OID_ECDSA_SHA256, "ecdsa-with-SHA256"),
    (OID_ECDSA_SHA384, "ecdsa-with-SHA384"),
    (OID_ECDSA_SHA512, "ecdsa-with-SHA512"),
    ("1.3.101.112", "Ed25519"),
];

fn weak_algorithm_name(oid: &str) -> &str {
    match oid {
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.113549.1.1.14" => "sha224WithRSAEncryption",
        "1.2.840.10045.4.3.1" => "ecdsa-with-SHA224",
        other => other,
    }
}

/// A trusted CA certificate, kept as DER and parsed per request.
#[derive(Debug, Clone)]
pub struct TrustAnchor {
    pub der: Vec<u8>,
    pub subject: String,
}

/// Parses the trust anchor bundle (PEM, or a single DER certificate); each must be a CA.
pub fn load_anchors(bundle: &[u8]) -> Result<Vec<TrustAnchor>, String> {
    let ders: Vec<Vec<u8>> = if bundle.windows(11).any(|w| w == b"-----BEGIN ") {
        let blocks = pem::parse_many(bundle).map_err(|e| format!("malformed PEM: {e}"))?;
        blocks
            .into_iter()
            .filter(|b| b.tag() == "CERTIFICATE")
            .map(|b| b.into_contents())
            .collect()
    } else {
        vec![bundle.to_vec()]
    };
    if ders.is_empty() {
        return Err("no CERTIFICATE block".to_string());
    }
    let mut anchors = Vec::new();
    for der in ders {
        let cert = parse(&der).map_err(|e| format!("trust anchor: {e}"))?;
        let subject = cert.subject().to_string();
        let is_ca = cert
            .basic_constraints()
            .map_err(|e| format!("trust anchor {subject}: bad basicConstraints: {e}"))?
            .is_some_and(|bc| bc.value.ca);
        if !is_ca {
            return Err(format!(
                "trust anchor {subject} is not a CA certificate (basicConstraints CA:TRUE)"
            ));
        }
        drop(cert);
        anchors.push(TrustAnchor { der, subject });
    }
    Ok(anchors)
}

fn parse(der: &[u8]) -> Result<X509Certificate<'_>, String> {
    let (rest, cert) = X509Certificate::from_der(der)
        .map_err(|e| format!("not a valid X.509 certificate: {e}"))?;
    if !rest.is_empty() {
        return Err("trailing bytes after the certificate".to_string());
    }
    Ok(cert)
}

/// The elliptic curves a leaf key may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcCurve {
    P256,
    P384,
    P521,
}

/// The leaf's public key, as the request signature is verified against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LeafKey {
    /// PKCS#1 `RSAPublicKey` DER.
    Rsa { pkcs1_der: Vec<u8>, bits: usize },
    /// The SEC1 point as the certificate holds it.
    Ec { curve: EcCurve, point: Vec<u8> },
    /// The FIPS 204 encoded public key.
    MlDsa {
        level: crate::identity::MlDsaLevel,
        encoded: Vec<u8>,
    },
}

impl LeafKey {
    /// The one SigV4-X509 algorithm this key type signs with.
    pub fn algorithm(&self) -> &'static str {
        match self {
            LeafKey::Rsa { .. } => "AWS4-X509-RSA-SHA256",
            LeafKey::Ec { .. } => "AWS4-X509-ECDSA-SHA256",
            LeafKey::MlDsa { .. } => "AWS4-X509-MLDSA",
        }
    }

    pub fn describe(&self) -> String {
        match self {
            LeafKey::Rsa { bits, .. } => format!("RSA {bits}"),
            LeafKey::Ec {
                curve: EcCurve::P256,
                ..
            } => "EC P-256".into(),
            LeafKey::Ec {
                curve: EcCurve::P384,
                ..
            } => "EC P-384".into(),
            LeafKey::Ec {
                curve: EcCurve::P521,
                ..
            } => "EC P-521".into(),
            LeafKey::MlDsa { level, .. } => level.name().into(),
        }
    }
}

/// What a verified path says about the leaf and its issuers.
#[derive(Debug, Clone)]
pub struct VerifiedChain {
    pub serial_decimal: String,
    pub serial_hex: String,
    pub leaf_subject: String,
    pub leaf_common_name: Option<String>,
    pub leaf_key: LeafKey,
    /// The intermediates the path went through, leaf side first.
    pub path_subjects: Vec<String>,
    pub anchor_subject: String,
}

/// Facts read from the leaf before any trust decision, for the verification record.
#[derive(Debug, Clone, Default)]
pub struct LeafSummary {
    pub serial_decimal: String,
    pub subject: String,
}

/// A serial number (DER INTEGER content bytes, read unsigned) in base 10 or 16, lower case.
// Digit by digit on purpose: the helper's own conversion (certificate::serial_decimal) divides by
// powers of ten, and the endpoint checks the serial the helper puts in the credential scope.
fn serial_in_radix(big_endian: &[u8], radix: u32) -> String {
    let mut digits: Vec<u32> = Vec::new(); // least significant first
    for &byte in big_endian {
        let mut carry = u32::from(byte);
        for digit in digits.iter_mut() {
            let value = *digit * 256 + carry;
            *digit = value % radix;
            carry = value / radix;
        }
        while carry > 0 {
            digits.push(carry % radix);
            carry /= radix;
        }
    }
    if digits.is_empty() {
        return "0".into();
    }
    digits
        .iter()
        .rev()
        .filter_map(|&d| char::from_digit(d, radix))
        .collect()
}

/// Reads the leaf's serial and subject, or says why the DER is not a certificate.
pub fn summarize_leaf(der: &[u8]) -> Result<LeafSummary, String> {
    let cert = parse(der)?;
    Ok(LeafSummary {
        serial_decimal: serial_in_radix(cert.tbs_certificate.raw_serial(), 10),
        subject: cert.subject().to_string(),
    })
}

/// The subjects of the `X-Amz-X509-Chain` certificates that parse, for the record.
pub fn chain_subjects(chain: &[Vec<u8>]) -> Vec<String> {
    chain
        .iter()
        .map(|der| {
            parse(der)
                .map(|c| c.subject().to_string())
                .unwrap_or_else(|e| format!("<unparsable: {e}>"))
        })
        .collect()
}

/// Checks the leaf and builds a path from it through `chain` to one of `anchors`, as of `now`.
/// The error is the detail appended to "Untrusted signing certificate".
pub fn verify_chain(
    leaf_der: &[u8],
    chain: &[Vec<u8>],
    anchors: &[TrustAnchor],
    now: OffsetDateTime,
) -> Result<VerifiedChain, String> {
    let leaf = parse(leaf_der).map_err(|e| format!("X-Amz-X509: {e}"))?;
    let leaf_subject = leaf.subject().to_string();
    let leaf_key = leaf_key(&leaf)?;
    check_leaf_profile(&leaf)?;
    check_validity(&leaf, "leaf certificate", now)?;

    let intermediates: Vec<X509Certificate<'_>> = chain
        .iter()
        .enumerate()
        .map(|(i, der)| {
            parse(der).map_err(|e| format!("X-Amz-X509-Chain certificate {}: {e}", i + 1))
        })
        .collect::<Result<_, _>>()?;
    let parsed_anchors: Vec<X509Certificate<'_>> = anchors
        .iter()
        .map(|a| parse(&a.der).map_err(|e| format!("trust anchor {}: {e}", a.subject)))
        .collect::<Result<_, _>>()?;

    let mut used = vec![false; intermediates.len()];
    let mut path: Vec<usize> = Vec::new();
    loop {
        let current = match path.last() {
            Some(&i) => &intermediates[i],
            None => &leaf,
        };
        // Certificates below the next issuer that are not the leaf: what a pathLenConstraint counts.
        let below = path.len();
        let mut anchor_problems = Vec::new();
        for (anchor, parsed) in anchors.iter().zip(&parsed_anchors) {
            if !names_match(current, parsed) {
                continue;
            }
            match verify_issued_by(current, parsed)
                .and_then(|()| check_issuer(parsed, "trust anchor", true, below, now))
            {
                Ok(()) => {
                    if path.len() + 2 > MAX_PATH_LEN {
                        return Err(format!(
                            "the path has {} certificates; at most {MAX_PATH_LEN} are allowed",
                            path.len() + 2
                        ));
                    }
                    return Ok(VerifiedChain {
                        serial_decimal: serial_in_radix(leaf.tbs_certificate.raw_serial(), 10),
                        serial_hex: serial_in_radix(leaf.tbs_certificate.raw_serial(), 16),
                        leaf_subject,
                        leaf_common_name: common_name(&leaf),
                        leaf_key,
                        path_subjects: path
                            .iter()
                            .map(|&i| intermediates[i].subject().to_string())
                            .collect(),
                        anchor_subject: anchor.subject.clone(),
                    });
                }
                Err(e) => anchor_problems.push(format!("trust anchor {}: {e}", anchor.subject)),
            }
        }
        let mut next = None;
        let mut problems = anchor_problems;
        for (i, candidate) in intermediates.iter().enumerate() {
            if used[i] || !names_match(current, candidate) {
                continue;
            }
            let label = format!("intermediate {}", candidate.subject());
            match verify_issued_by(current, candidate)
                .and_then(|()| check_issuer(candidate, &label, false, below, now))
            {
                Ok(()) => {
                    next = Some(i);
                    break;
                }
                Err(e) => problems.push(format!("{label}: {e}")),
            }
        }
        match next {
            Some(i) => {
                used[i] = true;
                path.push(i);
                if path.len() + 2 > MAX_PATH_LEN {
                    return Err(format!(
                        "no trust anchor within {MAX_PATH_LEN} certificates (leaf, {} intermediates, anchor)",
                        path.len()
                    ));
                }
            }
            None if problems.is_empty() => {
                return Err(format!(
                    "issuer '{}' of '{}' is neither a trust anchor CA nor in X-Amz-X509-Chain",
                    current.issuer(),
                    current.subject()
                ));
            }
            None => return Err(problems.join("; ")),
        }
    }
}

/// Issuer name of `child` equals the subject of `issuer` (DER bytes, or the same text).
fn names_match(child: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> bool {
    child.issuer().as_raw() == issuer.subject().as_raw()
        || child.issuer().to_string() == issuer.subject().to_string()
}

/// The checks every certificate on the path but the anchor gets: v3, strong signature algorithm,
/// valid now, no unknown critical extension.
/// What the service demands of the leaf itself, its validity aside: X.509 v3, SHA-256 or
/// stronger, no unknown critical extension, not a CA, digitalSignature when keyUsage is present.
pub fn check_leaf_profile(leaf: &X509Certificate<'_>) -> Result<(), String> {
    check_profile(leaf, "leaf certificate")?;
    let basic = leaf
        .basic_constraints()
        .map_err(|e| format!("leaf certificate: bad basicConstraints: {e}"))?;
    if basic.is_some_and(|bc| bc.value.ca) {
        return Err("leaf certificate is a CA (basicConstraints CA:TRUE); an end-entity certificate is required".into());
    }
    let key_usage = leaf
        .key_usage()
        .map_err(|e| format!("leaf certificate: bad keyUsage: {e}"))?;
    if key_usage.is_some_and(|ku| !ku.value.digital_signature()) {
        return Err("leaf certificate's keyUsage lacks digitalSignature".into());
    }
    Ok(())
}

fn check_common(
    cert: &X509Certificate<'_>,
    label: &str,
    now: OffsetDateTime,
) -> Result<(), String> {
    check_profile(cert, label)?;
    check_validity(cert, label, now)
}

fn check_profile(cert: &X509Certificate<'_>, label: &str) -> Result<(), String> {
    if cert.version().0 != 2 {
        return Err(format!(
            "{label} is X.509 v{}, not v3",
            cert.version().0 + 1
        ));
    }
    let algorithm = cert.signature_algorithm.algorithm.to_id_string();
    if !STRONG_SIGNATURE_ALGORITHMS
        .iter()
        .any(|(oid, _)| *oid == algorithm)
    {
        return Err(format!(
            "{label} is signed with {}; SHA-256 or stronger is required",
            weak_algorithm_name(&algorithm)
        ));
    }
    for ext in cert.extensions() {
        if ext.critical
            && matches!(
                ext.parsed_extension(),
                x509_parser::extensions::ParsedExtension::UnsupportedExtension { .. }
            )
        {
            return Err(format!(
                "{label} has an unsupported critical extension {}",
                ext.oid.to_id_string()
            ));
        }
    }
    Ok(())
}

fn check_validity(
    cert: &X509Certificate<'_>,
    label: &str,
    now: OffsetDateTime,
) -> Result<(), String> {
    let validity = cert.validity();
    let (from, to) = (
        validity.not_before.to_datetime(),
        validity.not_after.to_datetime(),
    );
    if now < from {
        return Err(format!(
            "{label} is not valid before {} (now {})",
            crate::support::timestamp::iso8601(from),
            crate::support::timestamp::iso8601(now)
        ));
    }
    if now > to {
        return Err(format!(
            "{label} expired at {} (now {})",
            crate::support::timestamp::iso8601(to),
            crate::support::timestamp::iso8601(now)
        ));
    }
    Ok(())
}

/// An issuing certificate (intermediate or anchor) must be a valid CA allowed to sign
/// certificates, whose pathLenConstraint admits the `below` intermediates under it.
fn check_issuer(
    cert: &X509Certificate<'_>,
    label: &str,
    is_anchor: bool,
    below: usize,
    now: OffsetDateTime,
) -> Result<(), String> {
    // An anchor is trusted by configuration: only its validity and CA-ness are checked.
    if is_anchor {
        check_validity(cert, label, now)?;
    } else {
        check_common(cert, label, now)?;
    }
    let basic = cert
        .basic_constraints()
        .map_err(|e| format!("bad basicConstraints: {e}"))?;
    let Some(basic) = basic.filter(|bc| bc.value.ca) else {
        return Err("not a CA (basicConstraints CA:TRUE is missing)".into());
    };
    if let Some(max) = basic.value.path_len_constraint
        && below > max as usize
    {
        return Err(format!(
            "pathLenConstraint {max} forbids the {below} intermediate(s) below it"
        ));
    }
    let key_usage = cert.key_usage().map_err(|e| format!("bad keyUsage: {e}"))?;
    if key_usage.is_some_and(|ku| !ku.value.key_cert_sign()) {
        return Err("keyUsage lacks keyCertSign".into());
    }
    Ok(())
}

/// Verifies `child`'s signature with `issuer`'s key: x509-parser's ring-backed check, and
/// RustCrypto's ECDSA verifiers for what ring lacks (P-521 keys, ECDSA with SHA-512).
fn verify_issued_by(
    child: &X509Certificate<'_>,
    issuer: &X509Certificate<'_>,
) -> Result<(), String> {
    match child.verify_signature(Some(issuer.public_key())) {
        Ok(()) => Ok(()),
        Err(x509_parser::error::X509Error::SignatureUnsupportedAlgorithm) => {
            verify_ecdsa_fallback(child, issuer)
        }
        Err(_) => Err(format!(
            "signature on '{}' does not verify with this issuer's key",
            child.subject()
        )),
    }
}

fn verify_ecdsa_fallback(
    child: &X509Certificate<'_>,
    issuer: &X509Certificate<'_>,
) -> Result<(), String> {
    use signature::hazmat::PrehashVerifier;
    let unsupported = || {
        format!(
            "signature algorithm {} with the issuer's key is not supported",
            weak_algorithm_name(&child.signature_algorithm.algorithm.to_id_string())
        )
    };
    let digest_alg = match child.signature_algorithm.algorithm.to_id_string().as_str() {
        OID_ECDSA_SHA256 => &ring::digest::SHA256,
        OID_ECDSA_SHA384 => &ring::digest::SHA384,
        OID_ECDSA_SHA512 => &ring::digest::SHA512,
        _ => return Err(unsupported()),
    };
    let LeafKey::Ec { curve, point } = leaf_key(issuer).map_err(|_| unsupported())? else {
        return Err(unsupported());
    };
    let digest = ring::digest::digest(digest_alg, child.tbs_certificate.as_ref());
    let signature: &[u8] = &child.signature_value.data;
    let bad = || {
        format!(
            "signature on '{}' does not verify with this issuer's key",
            child.subject()
        )
    };
    match curve {
        EcCurve::P256 => {
            let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point).map_err(|_| bad())?;
            let sig = p256::ecdsa::Signature::from_der(signature).map_err(|_| bad())?;
            key.verify_prehash(digest.as_ref(), &sig).map_err(|_| bad())
        }
        EcCurve::P384 => {
            let key = p384::ecdsa::VerifyingKey::from_sec1_bytes(&point).map_err(|_| bad())?;
            let sig = p384::ecdsa::Signature::from_der(signature).map_err(|_| bad())?;
            key.verify_prehash(digest.as_ref(), &sig).map_err(|_| bad())
        }
        EcCurve::P521 => {
            let key = p521::ecdsa::VerifyingKey::from_sec1_bytes(&point).map_err(|_| bad())?;
            let sig = p521::ecdsa::Signature::from_der(signature).map_err(|_| bad())?;
            key.verify_prehash(digest.as_ref(), &sig).map_err(|_| bad())
        }
    }
}

fn common_name(cert: &X509Certificate<'_>) -> Option<String> {
    cert.subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string)
}

/// The leaf's key, if it is one Roles Anywhere signs with (RSA, or EC on P-256/P-384/P-521).
fn leaf_key(cert: &X509Certificate<'_>) -> Result<LeafKey, String> {
    let spki = cert.public_key();
    let bytes: &[u8] = &spki.subject_public_key.data;
    match spki.algorithm.algorithm.to_id_string().as_str() {
        OID_RSA => {
            let bits = match spki.parsed() {
                Ok(ParsedKey::RSA(rsa)) => rsa.key_size(),
                _ => return Err("malformed RSA public key".into()),
            };
            Ok(LeafKey::Rsa {
                pkcs1_der: bytes.to_vec(),
                bits,
            })
        }
        OID_EC => {
            let curve_oid = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string())
                .ok_or("EC public key without a named curve")?;
            let curve = match curve_oid.as_str() {
                OID_P256 => EcCurve::P256,
                OID_P384 => EcCurve::P384,
                OID_P521 => EcCurve::P521,
                other => return Err(format!("unsupported elliptic curve {other}")),
            };
            Ok(LeafKey::Ec {
                curve,
                point: bytes.to_vec(),
            })
        }
        other => match crate::identity::MlDsaLevel::from_oid(other) {
            Some(level) if bytes.len() == level.public_key_len() => Ok(LeafKey::MlDsa {
                level,
                encoded: bytes.to_vec(),
            }),
            Some(level) => Err(format!("malformed {} public key", level.name())),
            None => Err(format!("unsupported public key algorithm {other}")),
        },
    }
}

/// Verifies the request signature over the string to sign with the leaf's key, always through a
/// different library than the one the helper signs that key type with, so one bug cannot hide on
/// both sides:
///
/// | key | helper signs with | verified here with |
/// |---|---|---|
/// | RSA | ring | the `rsa` crate (PKCS#1 v1.5, SHA-256) |
/// | P-256 | ring | the `p256` crate |
/// | P-384 | the `p384` crate | ring |
/// | P-521 | the `p521` crate's signer | the `p521` crate's verifier (ring has no P-521; the wire-format tests check P-521 with openssl as well) |
pub fn verify_request_signature(
    key: &LeafKey,
    string_to_sign: &[u8],
    signature: &[u8],
) -> Result<(), String> {
    use signature::hazmat::PrehashVerifier;
    let failed = || {
        format!(
            "the signature does not verify with the certificate's {} key",
            key.describe()
        )
    };
    let digest = ring::digest::digest(&ring::digest::SHA256, string_to_sign);
    match key {
        LeafKey::Rsa { pkcs1_der, .. } => {
            use rsa::pkcs1::DecodeRsaPublicKey;
            let public_key = rsa::PublicKey::from_pkcs1_der(pkcs1_der).map_err(|_| failed())?;
            public_key
                .verify(
                    rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
                    digest.as_ref(),
                    signature,
                )
                .map_err(|_| failed())
        }
        LeafKey::Ec {
            curve: EcCurve::P256,
            point,
        } => {
            let verifying_key =
                p256::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|_| failed())?;
            let signature = p256::ecdsa::Signature::from_der(signature).map_err(|_| failed())?;
            verifying_key
                .verify_prehash(digest.as_ref(), &signature)
                .map_err(|_| failed())
        }
        LeafKey::Ec {
            curve: EcCurve::P384,
            point,
        } => {
            // ring takes uncompressed points only; decompress a compressed one first.
            let point = uncompressed(EcCurve::P384, point).ok_or_else(failed)?;
            ring::signature::UnparsedPublicKey::new(
                &ring::signature::ECDSA_P384_SHA256_ASN1,
                &point,
            )
            .verify(string_to_sign, signature)
            .map_err(|_| failed())
        }
        // ML-DSA has one implementation here; its verification shares no code with signing,
        // and tests/key_formats.rs checks our signatures with an independent Python one.
        LeafKey::MlDsa { level, encoded } => {
            if crate::identity::mldsa::verify(*level, encoded, string_to_sign, signature) {
                Ok(())
            } else {
                Err(failed())
            }
        }
        LeafKey::Ec {
            curve: EcCurve::P521,
            point,
        } => {
            let verifying_key =
                p521::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(|_| failed())?;
            let signature = p521::ecdsa::Signature::from_der(signature).map_err(|_| failed())?;
            verifying_key
                .verify_prehash(digest.as_ref(), &signature)
                .map_err(|_| failed())
        }
    }
}

fn uncompressed(curve: EcCurve, point: &[u8]) -> Option<Vec<u8>> {
    if point.first() == Some(&0x04) {
        return Some(point.to_vec());
    }
    match curve {
        EcCurve::P256 => p256::PublicKey::from_sec1_bytes(point)
            .ok()
            .map(|k| k.to_sec1_bytes().into_vec()),
        EcCurve::P384 => p384::PublicKey::from_sec1_bytes(point)
            .ok()
            .map(|k| k.to_sec1_bytes().into_vec()),
        EcCurve::P521 => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rsa::Generate as _;
    use signature::hazmat::PrehashSigner as _;

    const MESSAGE: &[u8] = b"AWS4-X509-ECDSA-SHA256\n20251126T070000Z\n20251126/us-east-1/rolesanywhere/aws4_request\n00";

    fn sha256(data: &[u8]) -> Vec<u8> {
        ring::digest::digest(&ring::digest::SHA256, data)
            .as_ref()
            .to_vec()
    }

    #[test]
    fn verifies_p256_signatures_from_compressed_points() {
        let key = p256::ecdsa::SigningKey::from(p256::SecretKey::generate());
        let signature: p256::ecdsa::Signature = key.sign_prehash(&sha256(MESSAGE)).unwrap();
        let der = signature.to_der().as_bytes().to_vec();
        let point = key.verifying_key().to_sec1_bytes().to_vec();
        assert_eq!((point.len(), point[0]), (65, 0x04));
        let mut compressed = vec![0x02 | (point[64] & 1)];
        compressed.extend_from_slice(&point[1..33]);
        for point in [point, compressed] {
            let leaf_key = LeafKey::Ec {
                curve: EcCurve::P256,
                point,
            };
            verify_request_signature(&leaf_key, MESSAGE, &der).unwrap();
            assert!(verify_request_signature(&leaf_key, b"other", &der).is_err());
        }
    }

    #[test]
    fn verifies_p521_signatures_over_sha256() {
        let key = p521::ecdsa::SigningKey::from(p521::SecretKey::generate());
        let signature: p521::ecdsa::Signature = key.sign_prehash(&sha256(MESSAGE)).unwrap();
        let der = signature.to_der().as_bytes().to_vec();
        let leaf_key = LeafKey::Ec {
            curve: EcCurve::P521,
            point: key.verifying_key().to_sec1_bytes().to_vec(),
        };
        verify_request_signature(&leaf_key, MESSAGE, &der).unwrap();
        assert!(verify_request_signature(&leaf_key, b"other", &der).is_err());
        // A SHA-512 prehash (what the P-521 default would be) is refused.
        let digest = ring::digest::digest(&ring::digest::SHA512, MESSAGE);
        let wrong: p521::ecdsa::Signature = key.sign_prehash(digest.as_ref()).unwrap();
        assert!(verify_request_signature(&leaf_key, MESSAGE, wrong.to_der().as_bytes()).is_err());
        assert!(verify_request_signature(&leaf_key, MESSAGE, b"\x30\x00").is_err());
    }

    #[test]
    fn serials_in_decimal_and_hex_agree_with_num_bigint() {
        use x509_parser::num_bigint::BigUint;
        let mut state: u32 = 0x1234_5678;
        for length in 0..=33 {
            let bytes: Vec<u8> = (0..length)
                .map(|_| {
                    state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (state >> 24) as u8
                })
                .collect();
            let expected = BigUint::from_bytes_be(&bytes);
            assert_eq!(serial_in_radix(&bytes, 10), expected.to_str_radix(10));
            assert_eq!(serial_in_radix(&bytes, 16), expected.to_str_radix(16));
        }
        assert_eq!(serial_in_radix(&[0, 0], 16), "0");
        assert_eq!(serial_in_radix(&[0x01, 0x00], 10), "256");
    }
}
