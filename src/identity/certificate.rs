//! Loading X.509 certificates (PEM or DER, leaf and chain bundles) and the local pre-flight checks
//! made before any network call: the key matches the certificate, and the certificate is valid now.

use std::path::Path;

use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::error::{Error, Result};
use crate::identity::key_file::{algorithm_name, named_curve};
use crate::identity::{Curve, MlDsaLevel, PublicKey};
use crate::support::input_file;

/// A parsed certificate: its DER and the facts the helper needs from it.
#[derive(Debug, Clone)]
pub struct Certificate {
    /// The DER encoding, as sent in `X-Amz-X509`.
    pub der: Vec<u8>,
    /// The serial number in decimal (the SigV4-X509 credential).
    pub serial_decimal: String,
    /// The subject, as text.
    pub subject: String,
    /// The subject's first common name (CN), when it has one in a string type.
    pub common_name: Option<String>,
    /// The issuer, as text.
    pub issuer: String,
    /// Valid from.
    pub not_before: OffsetDateTime,
    /// Valid until.
    pub not_after: OffsetDateTime,
    /// The subject public key, or why it is not one Roles Anywhere can use.
    pub public_key: std::result::Result<PublicKey, String>,
}

impl Certificate {
    /// Parses one DER certificate; `input` names its source in errors.
    pub fn from_der(der: &[u8], input: &str) -> Result<Certificate> {
        let (rest, cert) = X509Certificate::from_der(der)
            .map_err(|e| Error::bad_input(input, format!("not a valid X.509 certificate: {e}")))?;
        if !rest.is_empty() {
            return Err(Error::bad_input(
                input,
                "trailing bytes after the certificate",
            ));
        }
        let validity = cert.validity();
        Ok(Certificate {
            der: der[..der.len() - rest.len()].to_vec(),
            serial_decimal: serial_decimal(cert.tbs_certificate.raw_serial()),
            subject: cert.subject().to_string(),
            common_name: cert
                .subject()
                .iter_common_name()
                .next()
                .and_then(|cn| cn.as_str().ok())
                .map(str::to_string),
            issuer: cert.issuer().to_string(),
            not_before: validity.not_before.to_datetime(),
            not_after: validity.not_after.to_datetime(),
            public_key: subject_public_key(&cert),
        })
    }

    /// Fails unless `now` is within the validity period, saying which end is wrong.
    pub fn check_validity(&self, now: OffsetDateTime, input: &str) -> Result<()> {
        let fmt = |t: OffsetDateTime| crate::support::timestamp::iso8601(t);
        if now < self.not_before {
            return Err(Error::bad_input(
                input,
                format!(
                    "certificate is not yet valid: valid from {} (now {}); check the clock or wait",
                    fmt(self.not_before),
                    fmt(now)
                ),
            ));
        }
        if now > self.not_after {
            return Err(Error::bad_input(
                input,
                format!(
                    "certificate expired at {} (now {}); renew it",
                    fmt(self.not_after),
                    fmt(now)
                ),
            ));
        }
        Ok(())
    }

    /// Fails unless the certificate's public key is `key`'s public half.
    pub fn check_key_matches(
        &self,
        key: &PublicKey,
        cert_input: &str,
        key_input: &str,
    ) -> Result<()> {
        let cert_key = self
            .public_key
            .as_ref()
            .map_err(|why| Error::bad_input(cert_input, why.clone()))?;
        if cert_key != key {
            return Err(Error::bad_input(
                key_input,
                format!(
                    "private key ({}) does not match the certificate's public key ({}, subject {}); give the key this certificate was issued for",
                    key.describe(),
                    cert_key.describe(),
                    self.subject
                ),
            ));
        }
        Ok(())
    }
}

/// The decimal form of a serial number given as its DER INTEGER content bytes, read unsigned (as
/// x509-parser does): the form the SigV4-X509 credential scope carries.
// Our own conversion rather than num-bigint's: its radix conversion is the only user of libm in
// the binary, and not linking libm saves every credential-process about 340 KB of mapped pages.
pub fn serial_decimal(big_endian: &[u8]) -> String {
    // Repeated long division of the byte string by 10^19, the largest power of ten in a u64.
    const CHUNK: u128 = 10_000_000_000_000_000_000;
    let mut number: Vec<u8> = big_endian.to_vec();
    let mut chunks: Vec<u64> = Vec::new();
    while number.iter().any(|&b| b != 0) {
        let mut remainder: u128 = 0;
        for byte in number.iter_mut() {
            let value = (remainder << 8) | u128::from(*byte);
            *byte = (value / CHUNK) as u8;
            remainder = value % CHUNK;
        }
        chunks.push(remainder as u64);
    }
    let mut decimal = match chunks.pop() {
        Some(most_significant) => most_significant.to_string(),
        None => return "0".into(),
    };
    for chunk in chunks.iter().rev() {
        decimal.push_str(&format!("{chunk:019}"));
    }
    decimal
}

fn subject_public_key(cert: &X509Certificate<'_>) -> std::result::Result<PublicKey, String> {
    let spki = cert.public_key();
    let algorithm = spki.algorithm.algorithm.to_id_string();
    let key_bytes: &[u8] = &spki.subject_public_key.data;
    match algorithm.as_str() {
        "1.2.840.113549.1.1.1" => {
            use rsa::pkcs1::{DecodeRsaPublicKey, EncodeRsaPublicKey};
            use rsa::traits::PublicKeyParts;
            let key = rsa::PublicKey::from_pkcs1_der(key_bytes)
                .map_err(|e| format!("malformed RSA public key in the certificate: {e}"))?;
            let pkcs1_der = key
                .to_pkcs1_der()
                .map_err(|e| format!("RSA public key: {e}"))?
                .as_bytes()
                .to_vec();
            Ok(PublicKey::Rsa {
                pkcs1_der,
                bits: key.n().bit_width() as usize,
            })
        }
        "1.2.840.10045.2.1" => {
            let curve_oid = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|oid| oid.to_id_string())
                .ok_or("EC public key without a named curve")?;
            let curve = named_curve(&curve_oid, "certificate").map_err(|e| match e {
                Error::BadInput { problem, .. } => problem,
                other => other.to_string(),
            })?;
            let bad = |_| format!("malformed {} public key in the certificate", curve.name());
            // Decoding and re-encoding gives the uncompressed form whatever the certificate uses.
            let point = match curve {
                Curve::P256 => p256::PublicKey::from_sec1_bytes(key_bytes)
                    .map_err(bad)?
                    .to_sec1_bytes(),
                Curve::P384 => p384::PublicKey::from_sec1_bytes(key_bytes)
                    .map_err(bad)?
                    .to_sec1_bytes(),
                Curve::P521 => p521::PublicKey::from_sec1_bytes(key_bytes)
                    .map_err(bad)?
                    .to_sec1_bytes(),
            };
            Ok(PublicKey::Ec {
                curve,
                point: point.into_vec(),
            })
        }
        other => match MlDsaLevel::from_oid(other) {
            Some(level) if key_bytes.len() == level.public_key_len() => Ok(PublicKey::MlDsa {
                level,
                encoded: key_bytes.to_vec(),
            }),
            Some(level) => Err(format!(
                "malformed {} public key in the certificate",
                level.name()
            )),
            None => Err(format!(
                "unsupported certificate key algorithm {}",
                algorithm_name(other)
            )),
        },
    }
}

/// Reads the leaf certificate from `path` (PEM or DER). A PEM file may also hold its key and
/// further certificates; the first certificate is the leaf.
pub fn load_leaf(path: &Path) -> Result<Certificate> {
    Ok(load_bundle(path)?.remove(0))
}

/// Every certificate in the `--certificate` file, the leaf first (never empty).
pub fn load_bundle(path: &Path) -> Result<Vec<Certificate>> {
    let input = format!("--certificate {}", path.display());
    let bytes = input_file::read(path, "--certificate")?;
    parse_bundle(&bytes, &input)
}

/// Reads every certificate in `path` (PEM or DER), in file order: the `--intermediates` bundle.
pub fn load_chain(path: &Path) -> Result<Vec<Certificate>> {
    let input = format!("--intermediates {}", path.display());
    let bytes = input_file::read(path, "--intermediates")?;
    parse_bundle(&bytes, &input)
}

/// Every certificate in PEM or DER `bytes`; at least one, or an error saying what was found.
pub fn parse_bundle(bytes: &[u8], input: &str) -> Result<Vec<Certificate>> {
    if !input_file::looks_like_pem(bytes) {
        return Ok(vec![Certificate::from_der(bytes, input)?]);
    }
    let blocks = input_file::pem_blocks(bytes, input)?;
    let mut certs = Vec::new();
    let mut others = Vec::new();
    for block in &blocks {
        match block.tag.as_str() {
            "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE" => {
                certs.push(Certificate::from_der(&block.contents, input)?)
            }
            other => others.push(other.to_string()),
        }
    }
    if certs.is_empty() {
        let hint = if others.iter().any(|t| t.contains("PRIVATE KEY")) {
            "it holds a private key, not a certificate"
        } else if others.iter().any(|t| t.contains("CERTIFICATE REQUEST")) {
            "it holds a certificate signing request (CSR), not a certificate; have it signed first"
        } else {
            "no CERTIFICATE block"
        };
        return Err(Error::bad_input(
            input,
            format!("{hint} (found PEM blocks: {})", others.join(", ")),
        ));
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::serial_decimal;
    use x509_parser::num_bigint::BigUint;

    #[test]
    fn serial_decimal_matches_known_values() {
        assert_eq!(serial_decimal(&[]), "0");
        assert_eq!(serial_decimal(&[0]), "0");
        assert_eq!(serial_decimal(&[0x00, 0x01]), "1");
        assert_eq!(serial_decimal(&[0xff]), "255");
        assert_eq!(
            serial_decimal(&[0x8a, 0xc7, 0x23, 0x04, 0x89, 0xe8, 0x00, 0x00]),
            "10000000000000000000"
        );
        // 2^159 - 1, the largest 20-byte positive serial (RFC 5280's upper bound).
        let mut max = vec![0xff; 20];
        max[0] = 0x7f;
        assert_eq!(
            serial_decimal(&max),
            "730750818665451459101842416358141509827966271487"
        );
    }

    #[test]
    fn serial_decimal_agrees_with_num_bigint() {
        // Deterministic pseudo-random byte strings of every length up to 40, zero runs included.
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for length in 0..=40 {
            for _ in 0..25 {
                let bytes: Vec<u8> = (0..length)
                    .map(|_| {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        if state.is_multiple_of(5) {
                            0
                        } else {
                            state as u8
                        }
                    })
                    .collect();
                assert_eq!(
                    serial_decimal(&bytes),
                    BigUint::from_bytes_be(&bytes).to_str_radix(10),
                    "{bytes:02x?}"
                );
            }
        }
    }
}
