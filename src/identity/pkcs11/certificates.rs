//! Certificates on tokens: the ones a URI selects (searched before login, then after it when one
//! token matches), and the token's CA certificates that chain a leaf to its issuer.

use cryptoki::object::{Attribute, AttributeType, ObjectClass};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::errors::token_error;
use super::login::{PinState, log_in};
use super::module::Module;
use super::token::{OpenToken, id_and_label, open_session, template, tokens_matching};
use super::uri::{self, ObjectType, Pkcs11Uri};
use crate::error::{Error, Result};
use crate::identity::certificate::Certificate;

/// A certificate object found on a token.
pub(crate) struct TokenCert {
    /// Index into the list of open tokens.
    pub(crate) token: usize,
    pub(crate) id: Vec<u8>,
    label: Vec<u8>,
    pub(crate) cert: Certificate,
    pub(crate) uri: String,
}

fn certificates_in(
    open: &OpenToken,
    index: usize,
    template: &[Attribute],
    input: &str,
) -> Result<Vec<TokenCert>> {
    let handles = open
        .session
        .find_objects(template)
        .map_err(|e| token_error(input, "searching the token for certificates", &e))?;
    let mut certs = Vec::new();
    for handle in handles {
        let Ok(attributes) = open.session.get_attributes(handle, &[AttributeType::Value]) else {
            continue;
        };
        let Some(Attribute::Value(der)) = attributes.into_iter().next() else {
            continue;
        };
        let (id, label) = id_and_label(&open.session, handle);
        let uri = open.token.object_uri(&id, &label, ObjectType::Cert);
        match Certificate::from_der(&der, &uri) {
            Ok(cert) => certs.push(TokenCert {
                token: index,
                id,
                label,
                cert,
                uri,
            }),
            // Tokens hold certificates of every kind; one we cannot parse is not ours to use.
            Err(e) => tracing::debug!(%e, "skipping a certificate object"),
        }
    }
    Ok(certs)
}

/// Finds the certificates a URI selects: without login first, then (when exactly one token
/// matches and it requires a login) after logging in.
pub(crate) fn find_certificates(
    module: &Module,
    uri: &Pkcs11Uri,
    input: &str,
    pins: &mut PinState,
) -> Result<(Vec<OpenToken>, Vec<TokenCert>)> {
    if let Some(kind) = uri.object_type.filter(|k| *k != ObjectType::Cert) {
        return Err(Error::invalid_argument(
            input,
            format!(
                "the URI says type={}, but a certificate is wanted: use type=cert or leave type out",
                kind.name()
            ),
        ));
    }
    let tokens = tokens_matching(module, uri, input)?;
    let search = template(uri, ObjectClass::CERTIFICATE);
    let mut open = Vec::new();
    let mut certs = Vec::new();
    for token in tokens {
        let session = open_session(module, &token, input)?;
        open.push(OpenToken {
            token,
            session,
            logged_in: false,
        });
        let index = open.len() - 1;
        certs.extend(certificates_in(&open[index], index, &search, input)?);
    }
    if certs.is_empty() && open.len() == 1 && open[0].token.info.login_required() {
        log_in(module, &mut open[0], pins, input)?;
        certs = certificates_in(&open[0], 0, &search, input)?;
    }
    // A stable order (token, then CKA_ID) whatever order the token returns objects in.
    certs.sort_by(|a, b| (a.token, &a.id, &a.label).cmp(&(b.token, &b.id, &b.label)));
    Ok((open, certs))
}

pub(crate) fn describe_search(uri: &Pkcs11Uri, what: &str) -> String {
    let mut parts = vec![what.to_string()];
    if let Some(label) = &uri.object {
        parts.push(format!("object={}", String::from_utf8_lossy(label)));
    }
    if let Some(id) = &uri.id {
        parts.push(format!("id={}", uri::percent_encode(id, true)));
    }
    parts.join(" with ")
}

/// The token's CA certificates that chain `leaf` to its issuer, nearest first; never the leaf
/// itself and never a self-signed root (the trust anchor holds that).
pub(crate) fn token_chain(
    open: &OpenToken,
    leaf: &Certificate,
    input: &str,
) -> Result<Vec<Certificate>> {
    let all = certificates_in(
        open,
        0,
        &[Attribute::Class(ObjectClass::CERTIFICATE)],
        input,
    )?;
    let mut chain: Vec<Certificate> = Vec::new();
    let mut current = leaf.clone();
    // Roles Anywhere accepts at most 5 certificates, the leaf included.
    while chain.len() < 4 {
        let Ok((_, child)) = X509Certificate::from_der(&current.der) else {
            break;
        };
        let issuer = all.iter().map(|c| &c.cert).find(|candidate| {
            candidate.der != leaf.der
                && !chain.iter().any(|c| c.der == candidate.der)
                && candidate.subject == current.issuer
                && X509Certificate::from_der(&candidate.der).is_ok_and(|(_, parent)| {
                    child.verify_signature(Some(parent.public_key())).is_ok()
                })
        });
        let Some(issuer) = issuer else { break };
        if issuer.subject == issuer.issuer {
            break;
        }
        chain.push(issuer.clone());
        current = issuer.clone();
    }
    Ok(chain)
}
