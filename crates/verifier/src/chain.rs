//! Trust in the certificates: the trust anchor bundle, and a path from the leaf
//! through the intermediates sent in `X-Amz-X509-Chain` to one of the trust anchor's CAs, in at
//! most five certificates, every certificate on it checked as [`crate::profile`] says and every
//! signature on it verified as [`crate::signatures`] does.

use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::profile::{check_issuer, check_leaf_profile, check_validity};
use crate::signatures::{LeafKey, leaf_key, verify_issued_by};

/// The most certificates a path may hold, leaf and trust anchor included.
pub const MAX_PATH_LEN: usize = 5;

/// A trusted CA certificate, kept as DER and parsed per request.
#[derive(Debug, Clone)]
pub struct TrustAnchor {
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// Its subject, for records and messages.
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

/// Parses one DER certificate with nothing after it.
fn parse(der: &[u8]) -> Result<X509Certificate<'_>, String> {
    let (rest, cert) = X509Certificate::from_der(der)
        .map_err(|e| format!("not a valid X.509 certificate: {e}"))?;
    if !rest.is_empty() {
        return Err("trailing bytes after the certificate".to_string());
    }
    Ok(cert)
}

/// What a verified path says about the leaf and its issuers.
#[derive(Debug, Clone)]
pub struct VerifiedChain {
    /// The leaf's serial number in decimal, as the credential scope carries it.
    pub serial_decimal: String,
    /// The leaf's serial number in lower-case hex, the default role session name.
    pub serial_hex: String,
    /// The leaf's subject.
    pub leaf_subject: String,
    /// The leaf's first common name, if it has one.
    pub leaf_common_name: Option<String>,
    /// The leaf's public key, which the request signature must verify with.
    pub leaf_key: LeafKey,
    /// The intermediates the path went through, leaf side first.
    pub path_subjects: Vec<String>,
    /// The subject of the trust anchor CA the path ended at.
    pub anchor_subject: String,
}

/// Facts read from the leaf before any trust decision, for the verification record.
#[derive(Debug, Clone, Default)]
pub struct LeafSummary {
    /// The serial number in decimal.
    pub serial_decimal: String,
    /// The subject.
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

/// The first common name of `cert`'s subject.
fn common_name(cert: &X509Certificate<'_>) -> Option<String> {
    cert.subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

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
