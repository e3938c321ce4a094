//! PKCS#11 errors in words: return codes spelt as the standard spells them, with what to do about
//! the common ones.

use cryptoki::context::Function;
use cryptoki::error::{Error as CkError, RvError};

use crate::error::Error;

/// `C_Login returned CKR_PIN_INCORRECT`-style text: short, unlike cryptoki's own messages.
pub(crate) fn ck(e: &CkError) -> String {
    match e {
        CkError::Pkcs11(rv, function) => {
            format!("C_{} returned {}", function_name(*function), ckr_name(rv))
        }
        other => other.to_string(),
    }
}

fn function_name(function: Function) -> String {
    format!("{function:?}")
}

/// `PinIncorrect` → `CKR_PIN_INCORRECT`.
fn ckr_name(rv: &RvError) -> String {
    let camel = format!("{rv:?}");
    let mut out = String::from("CKR_");
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

pub(crate) fn token_error(input: &str, doing: &str, e: &CkError) -> Error {
    let advice = match e {
        CkError::Pkcs11(RvError::DeviceRemoved | RvError::TokenNotPresent, _) => {
            "; insert the token and retry"
        }
        CkError::Pkcs11(RvError::UserNotLoggedIn, _) => "; the token wants a login: give the PIN",
        CkError::Pkcs11(RvError::MechanismInvalid, _) => {
            "; the token cannot make this kind of signature"
        }
        _ => "",
    };
    Error::bad_input(input, format!("{doing}: {}{advice}", ck(e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn return_codes_read_like_the_standard() {
        assert_eq!(ckr_name(&RvError::PinIncorrect), "CKR_PIN_INCORRECT");
        assert_eq!(
            ck(&CkError::Pkcs11(
                RvError::SessionHandleInvalid,
                Function::Sign
            )),
            "C_Sign returned CKR_SESSION_HANDLE_INVALID"
        );
    }
}
