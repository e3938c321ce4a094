//! Asking for a password on the terminal: never echoed, never read from a pipe, and a clear
//! error (never a hang) when the process has no terminal.

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Where a password comes from.
#[derive(Clone, Copy, Debug)]
pub enum PasswordSource<'a> {
    /// Given on the command line.
    Given(&'a str),
    /// Asked on the terminal, up to `TRIES` times.
    Terminal,
}

/// How many times a user may type a wrong password before the command fails.
pub const TRIES: usize = 3;

/// Reads a password from the controlling terminal (`/dev/tty`), or says why it cannot.
pub fn ask(prompt: &str, input: &str, flag: &str) -> Result<Zeroizing<String>> {
    // A fuzz target run from a terminal must never stop to wait for a password.
    #[cfg(feature = "fuzzing")]
    let answer: std::io::Result<String> = {
        let _ = prompt;
        Err(std::io::ErrorKind::NotConnected.into())
    };
    #[cfg(not(feature = "fuzzing"))]
    let answer = rpassword::prompt_password(prompt);
    answer.map(Zeroizing::new).map_err(|_| {
        Error::bad_input(
            input,
            format!("needs a password and there is no terminal to ask for it; pass {flag}"),
        )
    })
}

/// Tries `attempt` with the password from `source`: once when given, else up to [`TRIES`] times
/// from the terminal. `attempt` returns `Ok(None)` for a wrong password.
pub fn with_password<T>(
    source: PasswordSource<'_>,
    prompt: &str,
    input: &str,
    flag: &str,
    mut attempt: impl FnMut(&str) -> Result<Option<T>>,
) -> Result<T> {
    match source {
        PasswordSource::Given(password) => attempt(password)?
            .ok_or_else(|| Error::bad_input(input, format!("wrong password (from {flag})"))),
        PasswordSource::Terminal => {
            for _ in 0..TRIES {
                let password = ask(prompt, input, flag)?;
                if let Some(value) = attempt(&password)? {
                    return Ok(value);
                }
                eprintln!("wrong password");
            }
            Err(Error::bad_input(
                input,
                format!("wrong password, {TRIES} times"),
            ))
        }
    }
}
