//! The library's error type, and the exit-code class each error maps to.
//!
//! Every message is one line that names the input or the step that failed and says what to do.
//! Messages never contain key material, PINs or credentials.

use std::borrow::Cow;
use std::fmt;

/// `text` as one line that cannot restyle or overwrite a terminal: control characters (newline,
/// carriage return, escape, …) and the invisible bidirectional-text controls are shown escaped
/// (`\n`, `\r`, `\u{1b}`, `\u{202e}`). Every error message goes through it, so user input
/// quoted in one (an ARN, a profile name, a path) never splits the one error line.
pub fn one_line(text: &str) -> Cow<'_, str> {
    fn unsafe_char(c: char) -> bool {
        c.is_control()
            || matches!(
                c,
                '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{061c}'
            )
            || ('\u{202a}'..='\u{202e}').contains(&c)
            || ('\u{2066}'..='\u{2069}').contains(&c)
    }
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut shown = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            match c {
                '\n' | '\r' | '\t' => shown.extend(c.escape_default()),
                _ => shown.extend(c.escape_unicode()),
            }
        } else {
            shown.push(c);
        }
    }
    Cow::Owned(shown)
}

/// The class of a failure, which decides the process exit code (documented in the README).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitClass {
    /// A flag or argument is missing or malformed (exit 2, as clap does for its own usage errors).
    Usage,
    /// A local input (certificate, key, chain file) is unreadable, malformed or unusable (exit 3).
    BadInput,
    /// The service answered and refused the request (exit 4).
    Denied,
    /// The endpoint could not be reached, timed out, throttled us or failed (exit 5).
    Unavailable,
    /// A bug or an unexpected local failure (exit 1).
    Internal,
}

impl ExitClass {
    /// The process exit code of this class.
    pub fn code(self) -> i32 {
        match self {
            ExitClass::Internal => 1,
            ExitClass::Usage => 2,
            ExitClass::BadInput => 3,
            ExitClass::Denied => 4,
            ExitClass::Unavailable => 5,
        }
    }
}

/// What the service said when it refused a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError {
    /// The HTTP status.
    pub status: u16,
    /// The error type (`AccessDeniedException`, …).
    pub error_type: String,
    /// The service's message.
    pub message: String,
    /// `x-amzn-RequestId`, for support cases.
    pub request_id: Option<String>,
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {} {}", self.status, one_line(&self.error_type))?;
        if !self.message.is_empty() {
            write!(f, ": {}", one_line(&self.message))?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {})", one_line(id))?;
        }
        Ok(())
    }
}

/// Everything that can go wrong, each with one line for the user; [`Error::exit_code`] maps it
/// to an exit code. Each part of a message is shown through [`one_line`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag value is invalid: `{flag}: {problem}`.
    #[error("{}: {}", one_line(.flag), one_line(.problem))]
    InvalidArgument {
        /// The flag.
        flag: String,
        /// What is wrong with its value.
        problem: String,
    },

    /// A local file or value could not be used.
    #[error("{}: {}", one_line(.input), one_line(.problem))]
    BadInput {
        /// The input (`--certificate PATH`, …).
        input: String,
        /// What is wrong with it.
        problem: String,
    },

    /// The service refused the request.
    #[error("CreateSession was refused: {error}; {}", one_line(.advice))]
    Denied {
        /// The service's answer.
        error: ServiceError,
        /// What to check.
        advice: String,
    },

    /// STS refused a call made with the session's credentials.
    #[error("sts:{action} was refused: {error}; {}", one_line(.explanation))]
    StsDenied {
        /// The STS action (`GetCallerIdentity`, …).
        action: &'static str,
        /// STS's answer.
        error: ServiceError,
        /// What the error code usually means for a Roles Anywhere user.
        explanation: String,
    },

    /// STS refused to chain into a role (`--assume-role-arn`).
    #[error("sts:AssumeRole of {} was refused: {error}; {}", one_line(.role_arn), one_line(.explanation))]
    AssumeRoleDenied {
        /// The role asked for.
        role_arn: String,
        /// STS's answer (boxed: the error type stays small).
        error: Box<ServiceError>,
        /// What the error code usually means here.
        explanation: String,
    },

    /// The endpoint could not be reached or kept failing.
    #[error("{}", one_line(.0))]
    Unavailable(String),

    /// An unexpected local failure.
    #[error("{}", one_line(.0))]
    Internal(String),
}

impl Error {
    /// A flag's value is wrong: exit code 2.
    pub fn invalid_argument(flag: impl Into<String>, problem: impl Into<String>) -> Self {
        Error::InvalidArgument {
            flag: flag.into(),
            problem: problem.into(),
        }
    }

    /// An input (a file, a token object, a key) is unusable: exit code 3.
    pub fn bad_input(input: impl Into<String>, problem: impl Into<String>) -> Self {
        Error::BadInput {
            input: input.into(),
            problem: problem.into(),
        }
    }

    /// The class of this error, which decides the exit code.
    pub fn class(&self) -> ExitClass {
        match self {
            Error::InvalidArgument { .. } => ExitClass::Usage,
            Error::BadInput { .. } => ExitClass::BadInput,
            Error::Denied { .. } | Error::StsDenied { .. } | Error::AssumeRoleDenied { .. } => {
                ExitClass::Denied
            }
            Error::Unavailable(_) => ExitClass::Unavailable,
            Error::Internal(_) => ExitClass::Internal,
        }
    }

    /// The process exit code.
    pub fn exit_code(&self) -> i32 {
        self.class().code()
    }
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_input_in_a_message_never_splits_its_line_or_drives_the_terminal() {
        let error =
            Error::invalid_argument("--role-arn", "'a\nb\rc\u{1b}[2Jd\u{202e}e' is not an ARN");
        assert_eq!(
            error.to_string(),
            "--role-arn: 'a\\nb\\rc\\u{1b}[2Jd\\u{202e}e' is not an ARN"
        );
        let bad = Error::bad_input("--certificate ./x\n.pem", "no such file");
        assert_eq!(bad.to_string(), "--certificate ./x\\n.pem: no such file");
        assert_eq!(one_line("café/日本.pem"), "café/日本.pem");
        let denied = Error::Denied {
            error: ServiceError {
                status: 403,
                error_type: "AccessDeniedException".into(),
                message: "no\r\nspoof".into(),
                request_id: None,
            },
            advice: "check".into(),
        };
        assert!(!denied.to_string().contains(['\r', '\n']), "{denied}");
    }
}
