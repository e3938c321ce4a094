//! The key's password: where it comes from (the flags, the file's emptyAuth, a prompt), and the
//! rule that a refused password is never presented again, since each wrong try counts toward
//! the TPM's dictionary-attack lockout.

use zeroize::Zeroizing;

use super::connection::Failure;
use super::rc::{self, ResponseCode};
use super::wire::{self, PublicArea};
use super::{Options, Password};
use crate::error::{Error, Result};

/// Where the key's password came from, to say the right thing when the TPM rejects it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AuthOrigin {
    Flag,
    NoPasswordFlag,
    FileSaysEmpty,
    Typed,
    /// emptyAuth FALSE, no terminal, and a noDA key: a wrong guess costs no lockout count.
    EmptyGuessNoDa,
}

impl AuthOrigin {
    /// What to do when the TPM rejects a password that came from here.
    fn what_to_do(self) -> &'static str {
        match self {
            AuthOrigin::Flag => "check --tpm-key-password",
            AuthOrigin::NoPasswordFlag => {
                "the key has a password: pass --tpm-key-password instead of --no-tpm-key-password"
            }
            AuthOrigin::FileSaysEmpty => {
                "the key file says the key has no password, yet the TPM wants one: pass --tpm-key-password"
            }
            AuthOrigin::Typed => "the password typed was wrong; run again",
            AuthOrigin::EmptyGuessNoDa => {
                "the key has a password and there was no terminal to ask for it: pass --tpm-key-password"
            }
        }
    }
}

/// The password to present: the flags, else the file's emptyAuth, else the terminal. With no
/// terminal, the empty password is tried only for a noDA key (a wrong try costs no lockout count).
pub(crate) fn resolve_password(
    options: &Options,
    file_says_empty: bool,
    area: &PublicArea,
    input: &str,
) -> Result<(Zeroizing<Vec<u8>>, AuthOrigin)> {
    let bytes = |s: &str| Zeroizing::new(s.as_bytes().to_vec());
    match &options.password {
        Password::Given(password) => return Ok((bytes(password), AuthOrigin::Flag)),
        Password::Empty => return Ok((Zeroizing::new(Vec::new()), AuthOrigin::NoPasswordFlag)),
        Password::Unspecified => {}
    }
    if file_says_empty {
        return Ok((Zeroizing::new(Vec::new()), AuthOrigin::FileSaysEmpty));
    }
    use std::io::IsTerminal as _;
    if std::io::stdin().is_terminal() {
        let prompt = format!("Password of the TPM key ({input}): ");
        if let Ok(typed) = rpassword::prompt_password(prompt) {
            let typed = Zeroizing::new(typed);
            return Ok((bytes(&typed), AuthOrigin::Typed));
        }
    }
    if area.attributes & wire::ATTR_NO_DA != 0 {
        return Ok((Zeroizing::new(Vec::new()), AuthOrigin::EmptyGuessNoDa));
    }
    Err(Error::bad_input(
        input,
        "the TPM key may have a password (its file does not say emptyAuth) and there is no terminal to ask for it; pass --tpm-key-password PASSWORD, or --no-tpm-key-password if it has none",
    ))
}

/// The error for the key's password rejected by TPM2_Sign with `code`.
pub(crate) fn wrong_password(input: &str, code: ResponseCode, origin: AuthOrigin) -> Error {
    let what_to_do = origin.what_to_do();
    Error::bad_input(
        input,
        format!(
            "the TPM rejected the key's password with {code}; not retried, since each wrong try counts toward the TPM's dictionary-attack lockout; {what_to_do}"
        ),
    )
}

/// Whether `failure` is the TPM refusing the password or locked out: the key then answers every
/// later signature with [`refusal`] instead of trying the password again.
pub(crate) fn ends_tries(failure: &Failure) -> bool {
    matches!(failure, Failure::Tpm(_, code) if code.is_wrong_password() || code.base() == rc::LOCKOUT)
}

/// What a refused key says from then on: the problem its first refusal reported.
pub(crate) fn refusal(error: &Error) -> String {
    match error {
        Error::BadInput { problem, .. } => problem.clone(),
        other => other.to_string(),
    }
}
