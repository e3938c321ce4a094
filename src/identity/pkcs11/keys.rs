//! Private-key objects on tokens: what each tells about itself (its public half included), and
//! the choice of the one that belongs to the certificate.

use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};

use super::errors::token_error;
use super::token::OpenToken;
use super::uri::ObjectType;
use crate::error::{Error, Result};
use crate::identity::certificate::Certificate;
use crate::identity::{Curve, PublicKey};

/// What a private-key object tells about itself.
pub(crate) struct KeyObject {
    /// Index into the list of open tokens.
    pub(crate) token: usize,
    pub(crate) handle: ObjectHandle,
    pub(crate) id: Vec<u8>,
    pub(crate) label: Vec<u8>,
    pub(crate) always_authenticate: bool,
    /// `None` when the token holds no public half (no public-key or certificate object).
    pub(crate) public: Option<PublicKey>,
    pub(crate) uri: String,
}

pub(crate) fn private_keys_in(
    open: &OpenToken,
    index: usize,
    template: &[Attribute],
    input: &str,
) -> Result<Vec<KeyObject>> {
    let handles = open
        .session
        .find_objects(template)
        .map_err(|e| token_error(input, "searching the token for private keys", &e))?;
    let mut keys = Vec::new();
    for handle in handles {
        let attributes = open
            .session
            .get_attributes(
                handle,
                &[
                    AttributeType::KeyType,
                    AttributeType::Id,
                    AttributeType::Label,
                    AttributeType::Modulus,
                    AttributeType::PublicExponent,
                    AttributeType::EcParams,
                    AttributeType::AlwaysAuthenticate,
                ],
            )
            .map_err(|e| token_error(input, "reading a private key's attributes", &e))?;
        let mut key_type = None;
        let (mut id, mut label, mut modulus, mut exponent, mut ec_params) =
            (Vec::new(), Vec::new(), None, None, None);
        let mut always_authenticate = false;
        for attribute in attributes {
            match attribute {
                Attribute::KeyType(t) => key_type = Some(t),
                Attribute::Id(v) => id = v,
                Attribute::Label(v) => label = v,
                Attribute::Modulus(v) => modulus = Some(v),
                Attribute::PublicExponent(v) => exponent = Some(v),
                Attribute::EcParams(v) => ec_params = Some(v),
                Attribute::AlwaysAuthenticate(v) => always_authenticate = v,
                _ => {}
            }
        }
        let public = match key_type {
            Some(KeyType::RSA) => match (modulus, exponent) {
                (Some(n), Some(e)) => Some(crate::identity::der::rsa_public_key(&n, &e)),
                _ => None,
            },
            Some(KeyType::EC) => ec_params
                .as_deref()
                .and_then(curve_of)
                .and_then(|curve| ec_public(open, curve, &id)),
            // Other key types cannot sign for Roles Anywhere; they are not candidates.
            _ => continue,
        };
        let uri = open.token.object_uri(&id, &label, ObjectType::Private);
        keys.push(KeyObject {
            token: index,
            handle,
            id,
            label,
            always_authenticate,
            public,
            uri,
        });
    }
    Ok(keys)
}

/// A curve's CKA_EC_PARAMS: the DER of its named-curve OID.
pub(super) fn ec_params(curve: Curve) -> &'static [u8] {
    match curve {
        Curve::P256 => &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07],
        Curve::P384 => &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22],
        Curve::P521 => &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23],
    }
}

/// The curve an EC key's CKA_EC_PARAMS (a DER named-curve OID) names.
fn curve_of(params: &[u8]) -> Option<Curve> {
    Curve::ALL
        .into_iter()
        .find(|curve| ec_params(*curve) == params)
}

/// An EC private key's public point, from the public-key object or certificate with its CKA_ID.
fn ec_public(open: &OpenToken, curve: Curve, id: &[u8]) -> Option<PublicKey> {
    if id.is_empty() {
        return None;
    }
    let public_objects = open
        .session
        .find_objects(&[
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(KeyType::EC),
            Attribute::Id(id.to_vec()),
        ])
        .unwrap_or_default();
    for handle in public_objects {
        if let Ok(attributes) = open
            .session
            .get_attributes(handle, &[AttributeType::EcPoint])
            && let Some(Attribute::EcPoint(encoded)) = attributes.into_iter().next()
            && let Some(point) = normalise_point(curve, &encoded)
        {
            return Some(PublicKey::Ec { curve, point });
        }
    }
    let certs = open
        .session
        .find_objects(&[
            Attribute::Class(ObjectClass::CERTIFICATE),
            Attribute::Id(id.to_vec()),
        ])
        .unwrap_or_default();
    for handle in certs {
        if let Ok(attributes) = open.session.get_attributes(handle, &[AttributeType::Value])
            && let Some(Attribute::Value(der)) = attributes.into_iter().next()
            && let Ok(cert) = Certificate::from_der(&der, "token certificate")
            && let Ok(public @ PublicKey::Ec { curve: c, .. }) = cert.public_key
            && c == curve
        {
            return Some(public);
        }
    }
    None
}

/// The uncompressed point from CKA_EC_POINT, which tokens give DER-wrapped (an OCTET STRING,
/// as the standard says) or raw.
pub(super) fn normalise_point(curve: Curve, encoded: &[u8]) -> Option<Vec<u8>> {
    let unwrapped = match encoded {
        [0x04, len, rest @ ..] if *len as usize == rest.len() && *len < 0x80 => rest,
        [0x04, 0x81, len, rest @ ..] if *len as usize == rest.len() => rest,
        other => other,
    };
    let point = match curve {
        Curve::P256 => p256::PublicKey::from_sec1_bytes(unwrapped)
            .ok()?
            .to_sec1_bytes(),
        Curve::P384 => p384::PublicKey::from_sec1_bytes(unwrapped)
            .ok()?
            .to_sec1_bytes(),
        Curve::P521 => p521::PublicKey::from_sec1_bytes(unwrapped)
            .ok()?
            .to_sec1_bytes(),
    };
    Some(point.into_vec())
}

/// Picks the one key that belongs to the certificate (by public key), or the only key when there
/// is no certificate; otherwise lists the candidates.
pub(crate) fn choose_key(
    keys: Vec<KeyObject>,
    leaf: Option<&Certificate>,
    input: &str,
) -> Result<KeyObject> {
    let listing = |keys: &[KeyObject]| {
        keys.iter()
            .map(|k| k.uri.as_str())
            .collect::<Vec<_>>()
            .join(" | ")
    };
    let wanted = leaf.and_then(|l| l.public_key.as_ref().ok());
    let Some(wanted) = wanted else {
        if keys.len() == 1 {
            return keys
                .into_iter()
                .next()
                .ok_or_else(|| Error::Internal("no key".into()));
        }
        return Err(Error::bad_input(
            input,
            format!(
                "{} private keys match; give one of these URIs: {}",
                keys.len(),
                listing(&keys)
            ),
        ));
    };
    let matching: Vec<usize> = (0..keys.len())
        .filter(|i| keys[*i].public.as_ref() == Some(wanted))
        .collect();
    let unknown: Vec<usize> = (0..keys.len())
        .filter(|i| keys[*i].public.is_none())
        .collect();
    let pick = match (matching.len(), unknown.len()) {
        (1, _) => matching[0],
        (0, 1) => unknown[0],
        (0, 0) => {
            return Err(Error::bad_input(
                input,
                format!(
                    "no private key on the token matches the certificate's public key ({}); keys found: {}",
                    wanted.describe(),
                    listing(&keys)
                ),
            ));
        }
        _ => {
            let candidates: Vec<&KeyObject> = matching
                .iter()
                .chain(unknown.iter())
                .map(|i| &keys[*i])
                .collect();
            return Err(Error::bad_input(
                input,
                format!(
                    "{} private keys may belong to the certificate; give one of these URIs: {}",
                    candidates.len(),
                    candidates
                        .iter()
                        .map(|k| k.uri.as_str())
                        .collect::<Vec<_>>()
                        .join(" | ")
                ),
            ));
        }
    };
    keys.into_iter()
        .nth(pick)
        .ok_or_else(|| Error::Internal("key index".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curve_oids_and_points() {
        assert_eq!(
            curve_of(&[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22]),
            Some(Curve::P384)
        );
        assert_eq!(curve_of(&[0x06, 0x01, 0x00]), None);
        let key = p256::SecretKey::from_slice(&[7u8; 32]).unwrap();
        let point = key.public_key().to_sec1_bytes().into_vec();
        let mut wrapped = vec![0x04, point.len() as u8];
        wrapped.extend(&point);
        assert_eq!(normalise_point(Curve::P256, &wrapped), Some(point.clone()));
        assert_eq!(normalise_point(Curve::P256, &point), Some(point));
    }

    #[test]
    fn rsa_public_keys_are_canonical_pkcs1() {
        let PublicKey::Rsa { pkcs1_der, bits } =
            crate::identity::der::rsa_public_key(&[0x00, 0xc0, 0x01], &[0x01, 0x00, 0x01])
        else {
            panic!("RSA");
        };
        assert_eq!(bits, 16);
        assert_eq!(
            pkcs1_der,
            [
                0x30, 0x0a, 0x02, 0x03, 0x00, 0xc0, 0x01, 0x02, 0x03, 0x01, 0x00, 0x01
            ]
        );
    }
}
