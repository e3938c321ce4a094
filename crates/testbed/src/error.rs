//! The test bed's error type: which setting or input failed and why, in one line, sorted the way
//! the helper sorts its exit codes (usage, bad input, internal) so it can map them one to one.

/// Why the endpoint could not be set up or run. The `Display` text is one line:
/// `{flag}: {problem}`, `{input}: {problem}` or the internal message.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting is invalid; `flag` names it as the `local-endpoint` command spells it.
    #[error("{flag}: {problem}")]
    InvalidArgument {
        /// The setting, e.g. `--listen`.
        flag: String,
        /// What is wrong with it.
        problem: String,
    },

    /// An input (a certificate bundle, a TLS key, a file to write, an address) cannot be used.
    #[error("{input}: {problem}")]
    BadInput {
        /// The input, e.g. `--ca-bundle` or `--request-log /path`.
        input: String,
        /// What is wrong with it.
        problem: String,
    },

    /// An unexpected local failure (runtime, thread, random source).
    #[error("{0}")]
    Internal(String),
}

impl Error {
    /// An [`Error::InvalidArgument`].
    pub fn invalid_argument(flag: impl Into<String>, problem: impl Into<String>) -> Self {
        Error::InvalidArgument {
            flag: flag.into(),
            problem: problem.into(),
        }
    }

    /// An [`Error::BadInput`].
    pub fn bad_input(input: impl Into<String>, problem: impl Into<String>) -> Self {
        Error::BadInput {
            input: input.into(),
            problem: problem.into(),
        }
    }
}

/// A result with the test bed's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
