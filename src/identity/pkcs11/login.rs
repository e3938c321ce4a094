//! Logging the user in: the PIN resolved once per load, one login per session, and a refused PIN
//! explained with the token's retry state and never retried.

use std::sync::atomic::Ordering;

use cryptoki::error::{Error as CkError, RvError};
use cryptoki::session::UserType;
use cryptoki::slot::TokenInfo;
use cryptoki::types::AuthPin;

use super::USER_LOGINS;
use super::errors::token_error;
use super::module::Module;
use super::pin::{self, Pin};
use super::token::{OpenToken, Token};
use super::uri::Pkcs11Uri;
use crate::error::{Error, Result};

/// Lazily resolves the user PIN once per load, from the URIs, `$PKCS11_PIN` or the terminal.
pub(crate) struct PinState {
    uris: Vec<Pkcs11Uri>,
    pin: Option<Pin>,
}

impl PinState {
    /// Nothing resolved yet; `uris` may carry pin-value or pin-source.
    pub(crate) fn new(uris: Vec<Pkcs11Uri>) -> PinState {
        PinState { uris, pin: None }
    }

    /// The user PIN of the token labelled `token_label`, resolved on first use.
    pub(crate) fn get(&mut self, input: &str, token_label: &str) -> Result<&Pin> {
        if self.pin.is_none() {
            let uris: Vec<&Pkcs11Uri> = self.uris.iter().collect();
            self.pin = Some(pin::user_pin(&uris, input, token_label)?);
        }
        self.pin
            .as_ref()
            .ok_or_else(|| Error::Internal("PIN not resolved".into()))
    }
}

/// Logs the user in once; a wrong PIN fails at once with the token's retry state.
pub(crate) fn log_in(
    module: &Module,
    open: &mut OpenToken,
    pins: &mut PinState,
    input: &str,
) -> Result<()> {
    if open.logged_in || !open.token.info.login_required() {
        return Ok(());
    }
    let (result, origin) = if open.token.info.protected_authentication_path() {
        // A PIN pad or biometric reader takes the PIN itself.
        USER_LOGINS.fetch_add(1, Ordering::SeqCst);
        (
            open.session.login(UserType::User, None),
            "the protected authentication path".to_string(),
        )
    } else {
        let pin = pins.get(input, open.token.info.label())?;
        // AuthPin is a secrecy::SecretString: zeroized when dropped.
        let secret = AuthPin::from(pin.value.as_str());
        USER_LOGINS.fetch_add(1, Ordering::SeqCst);
        (
            open.session.login(UserType::User, Some(&secret)),
            pin.origin.clone(),
        )
    };
    finish_login(module, &open.token, result, &origin, input)?;
    open.logged_in = true;
    Ok(())
}

fn finish_login(
    module: &Module,
    token: &Token,
    result: cryptoki::error::Result<()>,
    origin: &str,
    input: &str,
) -> Result<()> {
    match result {
        // Login state is per application: another session of ours already logged in.
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
        Err(CkError::Pkcs11(RvError::PinIncorrect, _)) => {
            let state = module
                .context
                .get_token_info(token.slot)
                .map(|info| retry_state(&info))
                .unwrap_or_else(|_| "the token did not say how many tries are left".into());
            Err(Error::bad_input(
                input,
                format!(
                    "token {} rejected the PIN from {origin} (CKR_PIN_INCORRECT; {state}); not retrying: fix the PIN before trying again",
                    token.describe()
                ),
            ))
        }
        Err(CkError::Pkcs11(RvError::PinLocked, _)) => Err(Error::bad_input(
            input,
            format!(
                "the user PIN of token {} is locked (CKR_PIN_LOCKED); unlock it with the SO PIN or PUK",
                token.describe()
            ),
        )),
        Err(CkError::Pkcs11(RvError::PinExpired, _)) => Err(Error::bad_input(
            input,
            format!(
                "the user PIN of token {} has expired (CKR_PIN_EXPIRED); set a new one with the token's tools",
                token.describe()
            ),
        )),
        Err(e) => Err(token_error(
            input,
            &format!("logging in to token {}", token.describe()),
            &e,
        )),
    }
}

/// What the token says about the remaining PIN tries.
fn retry_state(info: &TokenInfo) -> String {
    if info.user_pin_locked() {
        "the PIN is now locked (CKF_USER_PIN_LOCKED)".into()
    } else if info.user_pin_final_try() {
        "one try left before the PIN locks (CKF_USER_PIN_FINAL_TRY)".into()
    } else if info.user_pin_count_low() {
        "few tries left (CKF_USER_PIN_COUNT_LOW)".into()
    } else {
        "the token reports no retry limit reached".into()
    }
}
