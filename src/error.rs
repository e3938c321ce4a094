//! The library's error type, and the exit-code class each error maps to.
//!
//! Every message is one line that names the input or the step that failed and says what to do.
//! Messages never contain key material, PINs or credentials.

use std::fmt;

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
        write!(f, "HTTP {} {}", self.status, self.error_type)?;
        if !self.message.is_empty() {
            write!(f, ": {}", self.message)?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " (request id {id})")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong, each with one line for the user; [`Error::exit_code`] maps it
/// to an exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag value is invalid: `{flag}: {problem}`.
    #[error("{flag}: {problem}")]
    InvalidArgument {
        /// The flag.
        flag: String,
        /// What is wrong with its value.
        problem: String,
    },

    /// A local file or value could not be used.
    #[error("{input}: {problem}")]
    BadInput {
        /// The input (`--certificate PATH`, …).
        input: String,
        /// What is wrong with it.
        problem: String,
    },

    /// The service refused the request.
    #[error("CreateSession was refused: {error}; {advice}")]
    Denied {
        /// The service's answer.
        error: ServiceError,
        /// What to check.
        advice: String,
    },

    /// The endpoint could not be reached or kept failing.
    #[error("{0}")]
    Unavailable(String),

    /// An unexpected local failure.
    #[error("{0}")]
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
            Error::Denied { .. } => ExitClass::Denied,
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
