//! Loading: the objects `--certificate` and `--private-key` name, found on their tokens (or left
//! to the caller when they are files), and the token signer for the key.

use std::path::Path;
use std::sync::Arc;

use cryptoki::object::{Attribute, ObjectClass};

use super::TokenIdentity;
use super::certificates::{describe_search, find_certificates, token_chain};
use super::keys::{choose_key, private_keys_in};
use super::login::{PinState, log_in};
use super::module::{Module, load_module, module_location};
use super::signer::TokenSigner;
use super::token::{OpenToken, open_session, template, token_matches, tokens_matching};
use super::uri::{self, ObjectType, Pkcs11Uri, is_pkcs11_uri};
use crate::error::{Error, Result};
use crate::identity::Signer;
use crate::identity::certificate::{self, Certificate};
use crate::settings::identity::IdentitySpec;

/// [`load`], leaving the key alone unless `want_key`.
pub(crate) fn load_objects(
    key: &IdentitySpec,
    want_token_chain: bool,
    want_key: bool,
) -> Result<TokenIdentity> {
    let cert_arg = key.certificate.as_deref();
    let key_arg = key.private_key.as_deref();
    let cert_uri = match cert_arg.filter(|v| is_pkcs11_uri(v)) {
        Some(text) => Some(Pkcs11Uri::parse(text, "--certificate")?),
        None => None,
    };
    let key_uri = match key_arg {
        Some(text) if is_pkcs11_uri(text) => Some(Pkcs11Uri::parse(text, "--private-key")?),
        Some(_) => None,
        None if !want_key => None,
        // The certificate's URI names its key too; its `type=cert` does not carry over.
        None => cert_uri.clone().map(|uri| Pkcs11Uri {
            object_type: None,
            ..uri
        }),
    };
    let cert_input = match (&cert_uri, cert_arg) {
        (Some(uri), _) => format!("--certificate {}", uri.redacted()),
        (None, Some(path)) => format!("--certificate {path}"),
        (None, None) => "--certificate".to_string(),
    };
    let key_input = match (&key_uri, key_arg) {
        (Some(uri), Some(_)) => format!("--private-key {}", uri.redacted()),
        (Some(uri), None) => format!("--certificate {}", uri.redacted()),
        (None, Some(path)) => format!("--private-key {path}"),
        (None, None) => "--private-key".to_string(),
    };
    let uris: Vec<&Pkcs11Uri> = key_uri.iter().chain(cert_uri.iter()).collect();
    let (path, module_input) = module_location(key.pkcs11_lib.as_deref(), &uris)?;
    let module = load_module(&path, &module_input)?;
    let mut pins = PinState::new(uris.iter().map(|u| (*u).clone()).collect());

    // The certificate: from the token, else from its file.
    let mut open: Vec<OpenToken> = Vec::new();
    let mut leaf_token: Option<(usize, Vec<u8>)> = None;
    let leaf = match (&cert_uri, cert_arg) {
        (Some(uri), _) => {
            let (tokens, certs) = find_certificates(&module, uri, &cert_input, &mut pins)?;
            open = tokens;
            match certs.len() {
                0 => {
                    return Err(Error::bad_input(
                        &cert_input,
                        format!(
                            "no certificate found: searched {} on token(s) {}; list them with `p11tool --list-all-certs` or `read-certificate-data --certificate 'pkcs11:'`",
                            describe_search(uri, "certificates"),
                            open.iter()
                                .map(|o| o.token.describe())
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
                1 => {}
                _ => {
                    return Err(Error::bad_input(
                        &cert_input,
                        format!(
                            "{} certificates match; give one of these URIs: {}",
                            certs.len(),
                            certs
                                .iter()
                                .map(|c| c.uri.as_str())
                                .collect::<Vec<_>>()
                                .join(" | ")
                        ),
                    ));
                }
            }
            let found = certs
                .into_iter()
                .next()
                .ok_or_else(|| Error::Internal("no certificate".into()))?;
            leaf_token = Some((found.token, found.id));
            Some(found.cert)
        }
        (None, Some(path)) => Some(certificate::load_leaf(Path::new(path))?),
        (None, None) => None,
    };
    let chain = match (&leaf, &leaf_token) {
        (Some(leaf), Some((index, _))) if want_token_chain => {
            token_chain(&open[*index], leaf, &cert_input)?
        }
        _ => Vec::new(),
    };

    // The key: from the token, else from its file.
    let signer: Option<Box<dyn Signer>> = match (&key_uri, key_arg) {
        (Some(uri), _) => Some(Box::new(find_key(
            &module,
            uri,
            &key_input,
            leaf.as_ref(),
            leaf_token,
            open,
            pins,
            key.reuse_pin,
        )?)),
        (None, _) => None,
    };
    Ok(TokenIdentity {
        leaf,
        chain,
        signer,
        cert_input,
        key_input,
    })
}

#[allow(clippy::too_many_arguments)]
fn find_key(
    module: &Arc<Module>,
    uri: &Pkcs11Uri,
    input: &str,
    leaf: Option<&Certificate>,
    leaf_token: Option<(usize, Vec<u8>)>,
    mut open: Vec<OpenToken>,
    mut pins: PinState,
    reuse_pin: bool,
) -> Result<TokenSigner> {
    if let Some(kind) = uri.object_type.filter(|k| *k != ObjectType::Private) {
        return Err(Error::invalid_argument(
            input,
            format!(
                "the URI says type={}, but a private key is wanted: use type=private or leave type out",
                kind.name()
            ),
        ));
    }
    // Search the certificate's token when the key URI selects it too; else every matching token.
    let leaf_index = leaf_token.as_ref().map(|(i, _)| *i);
    let mut candidates: Vec<usize> = match leaf_index {
        Some(i) if token_matches(uri, &open[i].token) => vec![i],
        _ => Vec::new(),
    };
    if candidates.is_empty() {
        for token in tokens_matching(module, uri, input)? {
            let existing = open.iter().position(|o| o.token.slot == token.slot);
            let index = match existing {
                Some(i) => i,
                None => {
                    let session = open_session(module, &token, input)?;
                    open.push(OpenToken {
                        token,
                        session,
                        logged_in: false,
                    });
                    open.len() - 1
                }
            };
            candidates.push(index);
        }
    }
    let search = template(uri, ObjectClass::PRIVATE_KEY);
    let mut keys = Vec::new();
    for &index in &candidates {
        keys.extend(private_keys_in(&open[index], index, &search, input)?);
    }
    if keys.is_empty() {
        // Private keys are private objects: visible only after login, which is tried only when
        // exactly one token can hold the key (a PIN is never sent to several tokens).
        if candidates.len() > 1 {
            return Err(Error::bad_input(
                input,
                format!(
                    "{} tokens match the URI and none shows the key before login; add token= or serial= to pick one: {}",
                    candidates.len(),
                    candidates
                        .iter()
                        .map(|i| open[*i].token.describe())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let index = candidates[0];
        log_in(module, &mut open[index], &mut pins, input)?;
        keys = private_keys_in(&open[index], index, &search, input)?;
        if keys.is_empty()
            && let Some((cert_index, id)) = &leaf_token
            && *cert_index == index
            && !id.is_empty()
            && uri.id.is_none()
        {
            // The certificate's CKA_ID names its key (PKCS#11 convention) even when labels differ.
            let by_id = [
                Attribute::Class(ObjectClass::PRIVATE_KEY),
                Attribute::Id(id.clone()),
            ];
            keys = private_keys_in(&open[index], index, &by_id, input)?;
        }
    }
    if keys.is_empty() {
        return Err(Error::bad_input(
            input,
            format!(
                "no private key found: searched {}{} on token(s) {} after login; check object=/id= with `p11tool --login --list-privkeys`",
                describe_search(uri, "private keys"),
                match &leaf_token {
                    Some((_, id)) if !id.is_empty() => format!(
                        " and the certificate's id={}",
                        uri::percent_encode(id, true)
                    ),
                    _ => String::new(),
                },
                candidates
                    .iter()
                    .map(|i| open[*i].token.describe())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    let chosen = choose_key(keys, leaf, input)?;
    let mut public = chosen.public.clone();
    if public.is_none() {
        // No public half on the token: trust the certificate's key; the service checks the signature.
        public = leaf.and_then(|l| l.public_key.clone().ok());
    }
    let Some(public) = public else {
        return Err(Error::bad_input(
            input,
            format!(
                "cannot read the public half of EC key {}: the token has no public-key object or certificate with its id; store one, or give --certificate",
                chosen.uri
            ),
        ));
    };
    let index = chosen.token;
    // The signer needs the user logged in even when the key was visible before login.
    log_in(module, &mut open[index], &mut pins, input)?;
    let owner = open.swap_remove(index);
    tracing::debug!(key = %chosen.uri, always_authenticate = chosen.always_authenticate, "using the token key");
    Ok(TokenSigner::new(
        module, owner, chosen, public, input, reuse_pin, pins,
    ))
}
