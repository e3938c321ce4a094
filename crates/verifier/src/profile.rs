//! What the service demands of each certificate on a path: X.509 v3, signed with
//! SHA-256 or stronger, no unknown critical extension, valid now; an end-entity leaf for digital
//! signatures; issuers that are CAs allowed to sign certificates, within their pathLenConstraint.

use time::OffsetDateTime;
use x509_parser::prelude::X509Certificate;

use crate::iso8601;

pub(crate) const OID_ECDSA_SHA256: &str = "1.2.840.10045.4.3.2";
pub(crate) const OID_ECDSA_SHA384: &str = "1.2.840.10045.4.3.3";
pub(crate) const OID_ECDSA_SHA512: &str = "1.2.840.10045.4.3.4";

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

/// The usual name of a signature algorithm OID refused as weak, or the OID itself.
pub(crate) fn weak_algorithm_name(oid: &str) -> &str {
    match oid {
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption",
        "1.2.840.113549.1.1.4" => "md5WithRSAEncryption",
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1",
        "1.2.840.113549.1.1.14" => "sha224WithRSAEncryption",
        "1.2.840.10045.4.3.1" => "ecdsa-with-SHA224",
        other => other,
    }
}

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

/// The checks every certificate on the path but the anchor gets: v3, strong signature algorithm,
/// valid now, no unknown critical extension.
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

/// `cert` is valid at `now`.
pub(crate) fn check_validity(
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
            iso8601(from),
            iso8601(now)
        ));
    }
    if now > to {
        return Err(format!(
            "{label} expired at {} (now {})",
            iso8601(to),
            iso8601(now)
        ));
    }
    Ok(())
}

/// An issuing certificate (intermediate or anchor) must be a valid CA allowed to sign
/// certificates, whose pathLenConstraint admits the `below` intermediates under it.
pub(crate) fn check_issuer(
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
