//! The flags of certificate renewal: `renew`'s own, and the renewal flags `serve`, `update` and
//! `doctor` share.

// clap turns doc comments into help text: the argument structs deliberately have none.
#![allow(missing_docs)]

use std::path::PathBuf;

use clap::Args;

use super::KeyArgs;

#[derive(Debug, Args, Clone, Default)]
pub struct RenewalArgs {
    /// Renew the certificate with this command (run with sh -c): a PEM request on its stdin,
    /// the new PEM certificate (then any intermediates) on its stdout
    ///
    /// Renews the certificate file with your CA when it is due (see --renew-before). The command is
    /// run with `sh -c`; it gets a fresh PKCS#10 request (PEM) for the same key on standard input,
    /// with the subject and subject alternative names of the current certificate, and must print the
    /// new certificate (PEM), optionally followed by its intermediates, on standard output. The
    /// environment has ROLESANYWHERE_HELPER_CERTIFICATE (the certificate file) and none of the
    /// helper's secrets (PKCS11_PIN, the container token, env:NAME inputs). The answer is checked
    /// before anything is written: a certificate, for the request's key, that expires later than the
    /// current one. Then the certificate file (and the --intermediates file, when the command
    /// printed intermediates) is replaced atomically, keeping its mode and owner, and the previous
    /// one is kept beside it as FILE.previous. A command that fails, times out (--renew-timeout),
    /// prints nothing or prints an unacceptable certificate leaves every file as it was; serve and
    /// update log why (with the end of the command's stderr) and retry with backoff, while the
    /// current certificate keeps working until it expires. Examples for step-ca, openssl and ACM PCA:
    /// docs/edge.md.
    #[arg(long, value_name = "CMD")]
    pub renew_command: Option<String>,
    /// When to renew: this long before the certificate expires (seconds, or a number with s, m, h
    /// or d; default: a third of its lifetime)
    ///
    /// When the certificate is due for renewal: this long before it expires, in seconds or as a
    /// number with s, m, h or d (`30d`, `12h`). Default: a third of the certificate's lifetime (a
    /// 90-day certificate is renewed 30 days before it expires, a 24-hour one 8 hours before).
    /// serve and update check at start and before each refresh; renew checks once.
    #[arg(long, value_name = "DURATION")]
    pub renew_before: Option<String>,
    /// How long the renew command may run before it is killed (default 60s)
    ///
    /// How long --renew-command may run (seconds, or a number with s, m, h or d; default 60s). Then
    /// it is killed with every process it started (its process group), and the renewal counts as
    /// failed.
    #[arg(long, value_name = "DURATION")]
    pub renew_timeout: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct RenewArgs {
    #[command(flatten)]
    pub key: KeyArgs,
    /// Path to the intermediate certificates (PEM bundle), replaced when the command prints some
    ///
    /// A PEM bundle of intermediate CA certificates. When the renew command prints intermediates
    /// after the certificate, they replace this file (kept as FILE.previous); without it they are
    /// written after the certificate in the --certificate file.
    #[arg(long, value_name = "PATH")]
    pub intermediates: Option<PathBuf>,
    #[command(flatten)]
    pub renewal: RenewalArgs,
}
