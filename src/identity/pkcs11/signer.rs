//! The token signer: one session and one login kept for the key's whole life, reopened when the
//! token drops them, and signatures in the form the `Signer` trait promises.

use std::sync::{Arc, Mutex};

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use cryptoki::slot::Slot;

use super::errors::{ck, token_error};
use super::keys::KeyObject;
use super::login::{PinState, log_in};
use super::module::Module;
use super::pin;
use super::token::{OpenToken, Token, all_tokens, open_session};
use crate::error::{Error, Result};
use crate::identity::{Digest, PublicKey, Signer};

/// A live session on the key's token, logged in, and the key's handle in it.
struct Live {
    session: Session,
    key: ObjectHandle,
}

/// A private key on a token. Keeps one session and one login for its whole life (a long-running
/// process signs without logging in again), and reopens them by itself when the token drops them.
pub(crate) struct TokenSigner {
    module: Arc<Module>,
    token_label: String,
    token_serial: String,
    key_template: Vec<Attribute>,
    input: String,
    key_uri: String,
    public: PublicKey,
    always_authenticate: bool,
    reuse_pin: bool,
    rsa_hashes: [bool; 3],
    pins: Mutex<PinState>,
    live: Mutex<Option<Live>>,
}

/// How one signature is made.
#[derive(Clone, Copy)]
enum SignMechanism {
    Ecdsa,
    RsaPkcs,
    Sha256RsaPkcs,
    Sha384RsaPkcs,
    Sha512RsaPkcs,
}

impl SignMechanism {
    fn mechanism(self) -> Mechanism<'static> {
        match self {
            SignMechanism::Ecdsa => Mechanism::Ecdsa,
            SignMechanism::RsaPkcs => Mechanism::RsaPkcs,
            SignMechanism::Sha256RsaPkcs => Mechanism::Sha256RsaPkcs,
            SignMechanism::Sha384RsaPkcs => Mechanism::Sha384RsaPkcs,
            SignMechanism::Sha512RsaPkcs => Mechanism::Sha512RsaPkcs,
        }
    }

    fn raw(self) -> cryptoki_sys::CK_MECHANISM_TYPE {
        match self {
            SignMechanism::Ecdsa => cryptoki_sys::CKM_ECDSA,
            SignMechanism::RsaPkcs => cryptoki_sys::CKM_RSA_PKCS,
            SignMechanism::Sha256RsaPkcs => cryptoki_sys::CKM_SHA256_RSA_PKCS,
            SignMechanism::Sha384RsaPkcs => cryptoki_sys::CKM_SHA384_RSA_PKCS,
            SignMechanism::Sha512RsaPkcs => cryptoki_sys::CKM_SHA512_RSA_PKCS,
        }
    }
}

/// Errors after which a new session and login may succeed: the session is gone, or the
/// token forgot the key's handle (SoftHSM2 does when its token directory goes away and comes
/// back; the key is found again by its template).
fn session_lost(e: &CkError) -> bool {
    matches!(
        e,
        CkError::Pkcs11(
            RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::UserNotLoggedIn
                | RvError::DeviceRemoved
                | RvError::TokenNotPresent
                | RvError::ObjectHandleInvalid
                | RvError::KeyHandleInvalid,
            _
        )
    )
}

impl TokenSigner {
    /// The signer for `key` on the token `owner` holds open, its user logged in with `pins`.
    pub(crate) fn new(
        module: &Arc<Module>,
        owner: OpenToken,
        key: KeyObject,
        public: PublicKey,
        input: &str,
        reuse_pin: bool,
        pins: PinState,
    ) -> TokenSigner {
        TokenSigner {
            module: module.clone(),
            token_label: owner.token.info.label().to_string(),
            token_serial: owner.token.info.serial_number().to_string(),
            key_template: key_template(&key),
            input: input.to_string(),
            key_uri: key.uri,
            public,
            always_authenticate: key.always_authenticate,
            reuse_pin,
            rsa_hashes: rsa_hash_mechanisms(module, owner.token.slot),
            pins: Mutex::new(pins),
            live: Mutex::new(Some(Live {
                session: owner.session,
                key: key.handle,
            })),
        }
    }

    fn mechanism_and_data(
        &self,
        message: &[u8],
        digest: Digest,
    ) -> Result<(SignMechanism, Vec<u8>)> {
        Ok(match &self.public {
            // Tokens rarely implement CKM_ECDSA_SHA*: hash here, sign the digest.
            PublicKey::Ec { .. } => (SignMechanism::Ecdsa, digest.hash(message)),
            PublicKey::Rsa { .. } => {
                let (available, mechanism) = match digest {
                    Digest::Sha256 => (self.rsa_hashes[0], SignMechanism::Sha256RsaPkcs),
                    Digest::Sha384 => (self.rsa_hashes[1], SignMechanism::Sha384RsaPkcs),
                    Digest::Sha512 => (self.rsa_hashes[2], SignMechanism::Sha512RsaPkcs),
                };
                if available {
                    (mechanism, message.to_vec())
                } else {
                    let mut data = digest_info_prefix(digest).to_vec();
                    data.extend(digest.hash(message));
                    (SignMechanism::RsaPkcs, data)
                }
            }
            // Only RSA and EC keys are read from tokens (see `private_keys_in`).
            other => {
                return Err(Error::bad_input(
                    &self.input,
                    format!(
                        "{} keys cannot sign through PKCS#11 in this build; use an RSA or EC key",
                        other.describe()
                    ),
                ));
            }
        })
    }

    /// A new session on the same token (found again by label and serial), logged in, and the key.
    fn reopen(&self) -> Result<Live> {
        let find = || -> Result<Option<Token>> {
            Ok(all_tokens(&self.module, &self.input)?
                .into_iter()
                .find(|t| {
                    t.info.label() == self.token_label
                        && t.info.serial_number() == self.token_serial
                }))
        };
        let mut found = find();
        if !matches!(found, Ok(Some(_))) {
            // It may have come back since the module listed its tokens (C_Initialize), or an
            // earlier try left the module finalised.
            self.module.reinitialize(&self.input)?;
            found = find();
        }
        let Some(token) = found? else {
            return Err(Error::bad_input(
                &self.input,
                format!(
                    "token '{}' (serial {}) is no longer present; insert it and retry",
                    self.token_label, self.token_serial
                ),
            ));
        };
        let session = open_session(&self.module, &token, &self.input)?;
        let mut open = OpenToken {
            token,
            session,
            logged_in: false,
        };
        {
            let mut pins = self
                .pins
                .lock()
                .map_err(|_| Error::Internal("PIN lock poisoned".into()))?;
            log_in(&self.module, &mut open, &mut pins, &self.input)?;
        }
        let handles = open
            .session
            .find_objects(&self.key_template)
            .map_err(|e| token_error(&self.input, "finding the key again", &e))?;
        let [key] = handles[..] else {
            return Err(Error::bad_input(
                &self.input,
                format!(
                    "after reopening the session, {} keys match {} instead of one; give a URI with id=",
                    handles.len(),
                    self.key_uri
                ),
            ));
        };
        Ok(Live {
            session: open.session,
            key,
        })
    }

    fn sign_in(
        &self,
        live: &Live,
        mechanism: SignMechanism,
        data: &[u8],
    ) -> std::result::Result<Vec<u8>, SignFailure> {
        if !self.always_authenticate {
            return live
                .session
                .sign(&mechanism.mechanism(), live.key, data)
                .map_err(SignFailure::Token);
        }
        let raw = self.module.raw().map_err(|why| {
            SignFailure::Other(Error::bad_input(
                &self.input,
                format!("the key needs a login before each signature (CKA_ALWAYS_AUTHENTICATE), and the module's raw functions are unusable: {why}"),
            ))
        })?;
        let pin = self.context_pin().map_err(SignFailure::Other)?;
        raw.sign_with_context_login(
            live.session.handle(),
            mechanism.raw(),
            live.key.handle(),
            pin.as_bytes(),
            data,
        )
        .map_err(SignFailure::Token)
    }

    /// The PIN for a context-specific login: the user PIN with `--reuse-pin`, else asked for.
    fn context_pin(&self) -> Result<zeroize::Zeroizing<String>> {
        if self.reuse_pin {
            let mut pins = self
                .pins
                .lock()
                .map_err(|_| Error::Internal("PIN lock poisoned".into()))?;
            return Ok(pins.get(&self.input, &self.token_label)?.value.clone());
        }
        pin::prompt(
            &format!("PIN to sign with {}: ", self.key_uri),
            &self.input,
            "this key needs a login before each signature (CKA_ALWAYS_AUTHENTICATE); give --reuse-pin to use the token's user PIN for it",
        )
    }
}

enum SignFailure {
    Token(CkError),
    Other(Error),
}

impl Signer for TokenSigner {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn sign(&self, message: &[u8], digest: Digest) -> Result<Vec<u8>> {
        let (mechanism, data) = self.mechanism_and_data(message, digest)?;
        let mut live = self
            .live
            .lock()
            .map_err(|_| Error::Internal("the PKCS#11 session lock is poisoned".into()))?;
        let mut reopened = false;
        let signature = loop {
            if live.is_none() {
                *live = Some(self.reopen()?);
                reopened = true;
            }
            let Some(current) = live.as_ref() else {
                return Err(Error::Internal("no PKCS#11 session".into()));
            };
            match self.sign_in(current, mechanism, &data) {
                Ok(signature) => break signature,
                Err(SignFailure::Token(e)) if !reopened && session_lost(&e) => {
                    tracing::debug!(error = %ck(&e), "the token dropped the session; reopening it");
                    *live = None;
                }
                Err(SignFailure::Token(CkError::Pkcs11(RvError::PinIncorrect, _))) => {
                    return Err(Error::bad_input(
                        &self.input,
                        format!(
                            "token '{}' rejected the PIN for the key's context-specific login (CKR_PIN_INCORRECT); not retrying",
                            self.token_label
                        ),
                    ));
                }
                Err(SignFailure::Token(e)) => {
                    return Err(token_error(
                        &self.input,
                        &format!("signing with {}", self.key_uri),
                        &e,
                    ));
                }
                Err(SignFailure::Other(e)) => return Err(e),
            }
        };
        match self.public {
            PublicKey::Ec { .. } => ecdsa_raw_to_der(&signature).ok_or_else(|| {
                Error::bad_input(
                    &self.input,
                    format!(
                        "the token returned a malformed ECDSA signature ({} bytes)",
                        signature.len()
                    ),
                )
            }),
            _ => Ok(signature),
        }
    }
}

/// A template that finds this key again after a new session (handles may change).
fn key_template(key: &KeyObject) -> Vec<Attribute> {
    let mut template = vec![Attribute::Class(ObjectClass::PRIVATE_KEY)];
    if !key.id.is_empty() {
        template.push(Attribute::Id(key.id.clone()));
    }
    if !key.label.is_empty() {
        template.push(Attribute::Label(key.label.clone()));
    }
    template
}

/// Which of CKM_SHA{256,384,512}_RSA_PKCS the token implements.
fn rsa_hash_mechanisms(module: &Module, slot: Slot) -> [bool; 3] {
    let list = module.context.get_mechanism_list(slot).unwrap_or_default();
    [
        list.contains(&MechanismType::SHA256_RSA_PKCS),
        list.contains(&MechanismType::SHA384_RSA_PKCS),
        list.contains(&MechanismType::SHA512_RSA_PKCS),
    ]
}

/// PKCS#11's raw `r || s` ECDSA signature as ASN.1 DER `SEQUENCE { r, s }`.
fn ecdsa_raw_to_der(raw: &[u8]) -> Option<Vec<u8>> {
    if raw.is_empty() || !raw.len().is_multiple_of(2) {
        return None;
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    Some(crate::identity::der::ecdsa_signature(r, s))
}

/// The DigestInfo prefixes for CKM_RSA_PKCS over a locally computed hash (RFC 8017 §9.2).
fn digest_info_prefix(digest: Digest) -> &'static [u8] {
    match digest {
        Digest::Sha256 => &[
            0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x01, 0x05, 0x00, 0x04, 0x20,
        ],
        Digest::Sha384 => &[
            0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x02, 0x05, 0x00, 0x04, 0x30,
        ],
        Digest::Sha512 => &[
            0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
            0x03, 0x05, 0x00, 0x04, 0x40,
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lost_session_or_a_forgotten_key_handle_reopens_but_a_refusal_does_not() {
        let reopens = [
            (RvError::SessionHandleInvalid, true),
            (RvError::SessionClosed, true),
            (RvError::UserNotLoggedIn, true),
            (RvError::DeviceRemoved, true),
            (RvError::TokenNotPresent, true),
            // SoftHSM2 after its token directory went away and came back.
            (RvError::ObjectHandleInvalid, true),
            (RvError::KeyHandleInvalid, true),
            // Logging in again would not help, or would cost a PIN try.
            (RvError::PinIncorrect, false),
            (RvError::PinLocked, false),
            (RvError::KeyFunctionNotPermitted, false),
            (RvError::MechanismInvalid, false),
            (RvError::GeneralError, false),
        ];
        let wrong: Vec<_> = reopens
            .iter()
            .filter(|(rv, expected)| {
                session_lost(&CkError::Pkcs11(*rv, cryptoki::context::Function::Sign)) != *expected
            })
            .collect();
        assert!(wrong.is_empty(), "misjudged: {wrong:?}");
    }

    #[test]
    fn raw_ecdsa_signatures_become_der() {
        let mut raw = vec![0u8; 64];
        raw[0] = 0x80; // r needs a leading zero
        raw[32] = 0x00; // s has leading zeros to strip
        raw[33] = 0x01;
        let der = ecdsa_raw_to_der(&raw).unwrap();
        // The DER parses as a P-256 signature and holds exactly the raw r and s.
        let sig = p256::ecdsa::Signature::from_der(&der)
            .unwrap_or_else(|e| panic!("not a DER ECDSA signature ({e}): {der:02x?}"));
        assert_eq!(sig.to_bytes().as_slice(), &raw[..], "{der:02x?}");
        assert_eq!(&der[..5], &[0x30, der[1], 0x02, 0x21, 0x00]);
        assert!(ecdsa_raw_to_der(&[1, 2, 3]).is_none());
        // P-521: lengths past 127 bytes need the long form.
        let raw = vec![0xffu8; 132];
        let der = ecdsa_raw_to_der(&raw).unwrap();
        assert_eq!(&der[..3], &[0x30, 0x81, 0x8a]);
    }

    #[test]
    fn digest_info_prefixes_match_the_rsa_crate() {
        use rsa::pkcs1v15::Pkcs1v15Sign;
        for (digest, scheme) in [
            (Digest::Sha256, Pkcs1v15Sign::new::<sha2::Sha256>()),
            (Digest::Sha384, Pkcs1v15Sign::new::<sha2::Sha384>()),
            (Digest::Sha512, Pkcs1v15Sign::new::<sha2::Sha512>()),
        ] {
            assert_eq!(digest_info_prefix(digest), &scheme.prefix[..], "{digest:?}");
        }
    }
}
