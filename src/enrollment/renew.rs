//! Renewing a certificate file with the user's own CA: whether it is due, a fresh request for
//! the same key and names given to `--renew-command`, and its answer checked (a certificate, for
//! this key, lasting longer) before it replaces the file; on any failure the file is untouched.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;

use super::csr::{RequestContent, build_request};
use crate::error::{Error, Result};
use crate::identity::certificate::{self, Certificate};
use crate::identity::{Identity, PublicKey, key_file, pkcs12};
use crate::settings::identity::IdentitySpec;
use crate::settings::renewal::{RenewalSettings, check_certificate_is_a_file};
use crate::support::bounded_command::{self, Failure, MAX_STDOUT};
use crate::support::private_file::FileLock;
use crate::support::{input_file, replace_file};

/// How the renew command's output is named in errors.
const OUTPUT: &str = "--renew-command's output";

/// The variable that tells the renew command which certificate file it renews.
pub const CERTIFICATE_ENV: &str = "ROLESANYWHERE_HELPER_CERTIFICATE";

/// A renewed certificate may start this far in the future (the CA's clock ahead of ours).
const CLOCK_SLACK: time::Duration = time::Duration::minutes(5);

/// What a renewal check did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to do yet: the certificate is due for renewal from `renew_at`.
    NotDue {
        /// When the certificate becomes due.
        renew_at: OffsetDateTime,
        /// When it expires.
        not_after: OffsetDateTime,
    },
    /// The certificate file was replaced.
    Renewed {
        /// The new certificate's serial, in decimal.
        serial: String,
        /// When it expires.
        not_after: OffsetDateTime,
    },
}

/// Without renewal, serve, update and doctor warn this long before the certificate expires.
pub const WARN_WITHIN: time::Duration = time::Duration::days(30);

/// The warning for a certificate that expires within [`WARN_WITHIN`] of `now` when nothing
/// renews it; `None` when it has longer.
pub fn expiry_warning(leaf: &Certificate, now: OffsetDateTime) -> Option<String> {
    let left = leaf.not_after - now;
    if left >= WARN_WITHIN {
        return None;
    }
    let when = if left.is_negative() {
        format!(
            "expired at {}",
            crate::support::timestamp::iso8601(leaf.not_after)
        )
    } else {
        format!(
            "expires in {} days (at {})",
            left.whole_days(),
            crate::support::timestamp::iso8601(leaf.not_after)
        )
    };
    Some(format!(
        "the certificate (serial {}) {when} and no renewal is configured; give --renew-command (see docs/edge.md) or renew it before then",
        leaf.serial_decimal
    ))
}

/// When `leaf` is due: `before` its expiry, else a third of its lifetime before it.
pub fn renew_at(leaf: &Certificate, before: Option<Duration>) -> OffsetDateTime {
    let lifetime = leaf.not_after - leaf.not_before;
    let before = match before {
        Some(before) => time::Duration::try_from(before).unwrap_or(time::Duration::MAX),
        None => lifetime / 3,
    };
    leaf.not_after
        .checked_sub(before)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The certificate file's leaf and when it is due (no key is loaded).
pub fn due_at(
    spec: &IdentitySpec,
    settings: &RenewalSettings,
) -> Result<(Certificate, OffsetDateTime)> {
    let path = check_certificate_is_a_file(spec)?;
    let input = spec.certificate_input();
    let bytes = input_file::read(Path::new(path), "--certificate")?;
    let leaf = current_leaf(&bytes, &input)?;
    let at = renew_at(&leaf, settings.before);
    Ok((leaf, at))
}

/// Renews the certificate file when it is due at `now`. The identity whose key signs the
/// request comes from `identity`, asked for only then. The file is locked while the command
/// runs and read again under the lock (another process may just have renewed it).
pub fn renew_if_due(
    spec: &IdentitySpec,
    settings: &RenewalSettings,
    identity: &mut dyn FnMut() -> Result<Arc<Identity>>,
    now: OffsetDateTime,
) -> Result<Outcome> {
    let path = Path::new(check_certificate_is_a_file(spec)?);
    let input = spec.certificate_input();
    replace_file::inspect(path, &input)?;
    let _lock = lock(path, &input, settings.timeout + Duration::from_secs(30))?;
    let old_bytes = input_file::read(path, "--certificate")?;
    let leaf = current_leaf(&old_bytes, &input)?;
    let due = renew_at(&leaf, settings.before);
    if now < due {
        return Ok(Outcome::NotDue {
            renew_at: due,
            not_after: leaf.not_after,
        });
    }
    let identity = identity()?;
    let signer = identity.signer.as_ref();
    leaf.check_key_matches(signer.public_key(), &input, &spec.key_input())?;
    let content = RequestContent::from_certificate(&leaf, &input)?;
    let request = build_request(&content, signer)?;

    let certificates = run_command(settings, request.as_bytes(), path)?;
    let new_leaf = &certificates[0];
    check_answer(new_leaf, &leaf, signer.public_key(), now)?;

    let old_was_pem = input_file::looks_like_pem(&old_bytes);
    let chain = &certificates[1..];
    let leaf_file: Vec<u8> = match (&spec.intermediates, old_was_pem) {
        (Some(intermediates), _) => {
            if !chain.is_empty() {
                replace_intermediates(intermediates, chain)?;
            }
            encode(std::slice::from_ref(new_leaf), old_was_pem)
        }
        (None, true) => encode(&certificates, true),
        (None, false) => {
            if !chain.is_empty() {
                tracing::warn!(
                    "{input} is DER, which holds one certificate: the {} intermediate(s) the renew command printed are not kept; give --intermediates to keep them",
                    chain.len()
                );
            }
            new_leaf.der.clone()
        }
    };
    replace_file::replace_keeping_previous(path, &old_bytes, &leaf_file, &input)?;
    Ok(Outcome::Renewed {
        serial: new_leaf.serial_decimal.clone(),
        not_after: new_leaf.not_after,
    })
}

/// The leaf of the certificate file's contents; refuses what renewal could not rewrite.
fn current_leaf(bytes: &[u8], input: &str) -> Result<Certificate> {
    if pkcs12::looks_like_pkcs12(bytes) {
        return Err(Error::bad_input(
            input,
            "is a PKCS#12 bundle, which renewal does not rewrite; give the certificate as PEM with --private-key",
        ));
    }
    if key_file::holds_private_key(bytes) {
        return Err(Error::bad_input(
            input,
            "holds a private key too, which replacing the file would drop; keep the key in its own --private-key file",
        ));
    }
    Ok(certificate::parse_bundle(bytes, input)?.remove(0))
}

/// An exclusive lock (flock) on the certificate file itself, waited for up to `wait`.
fn lock(path: &Path, input: &str, wait: Duration) -> Result<FileLock> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| Error::bad_input(input, format!("cannot open: {e}")))?;
    FileLock::wait_for(file, input, wait, || {
        Error::Unavailable(format!(
            "{input}: another renewal has held it for {}s; try again once it is done",
            wait.as_secs()
        ))
    })
}

/// Runs the renew command with `request` on its stdin; the certificates it printed, leaf first.
fn run_command(
    settings: &RenewalSettings,
    request: &[u8],
    path: &Path,
) -> Result<Vec<Certificate>> {
    // The command is the user's CA client, not ours: it inherits none of our secrets.
    let secrets = input_file::secret_environment_names();
    let env = [(CERTIFICATE_ENV, path.as_os_str())];
    let said = |stderr: &str| match stderr.is_empty() {
        true => "it printed nothing on stderr".to_string(),
        false => format!("its stderr: {stderr}"),
    };
    let finished = bounded_command::run(
        &settings.command,
        request,
        &env,
        &secrets,
        settings.timeout,
    )
    .map_err(|failure| match failure {
        Failure::Start(e) => Error::Unavailable(format!("--renew-command: cannot start sh: {e}")),
        Failure::TimedOut { limit, stderr } => Error::Unavailable(format!(
            "--renew-command: ran longer than {}s and was killed with what it started (raise --renew-timeout if the CA is slow); {}",
            limit.as_secs_f32(),
            said(&stderr)
        )),
    })?;
    if finished.code != 0 {
        return Err(Error::Unavailable(format!(
            "--renew-command: failed with exit code {}; {}",
            finished.code,
            said(&finished.stderr)
        )));
    }
    if finished.stdout_truncated {
        return Err(Error::bad_input(
            OUTPUT,
            format!(
                "is longer than {MAX_STDOUT} bytes; it must be the PEM certificate and its chain"
            ),
        ));
    }
    if finished.stdout.iter().all(u8::is_ascii_whitespace) {
        return Err(Error::bad_input(
            OUTPUT,
            format!(
                "is empty: the command printed no certificate; it must print the new PEM certificate on stdout ({})",
                said(&finished.stderr)
            ),
        ));
    }
    if !input_file::looks_like_pem(&finished.stdout) {
        return Err(Error::bad_input(
            OUTPUT,
            "is not PEM; the command must print the new certificate as PEM (-----BEGIN CERTIFICATE-----)",
        ));
    }
    certificate::parse_bundle(&finished.stdout, OUTPUT)
}

/// The renewed certificate is for the request's key, lasts longer than the current one, and
/// is valid now.
fn check_answer(
    new_leaf: &Certificate,
    current: &Certificate,
    key: &PublicKey,
    now: OffsetDateTime,
) -> Result<()> {
    let fmt = crate::support::timestamp::iso8601;
    let certified = new_leaf
        .public_key
        .as_ref()
        .map_err(|why| Error::bad_input(OUTPUT, why.clone()))?;
    if certified != key {
        return Err(Error::bad_input(
            OUTPUT,
            format!(
                "is a certificate for another key ({}, subject {}), not for the request's {} key; the CA must certify the key of the request it was given",
                certified.describe(),
                new_leaf.subject,
                key.describe()
            ),
        ));
    }
    if new_leaf.not_after <= current.not_after {
        return Err(Error::bad_input(
            OUTPUT,
            format!(
                "is a certificate that does not last longer than the current one (valid until {}, the current one until {}); the CA must issue one that expires later",
                fmt(new_leaf.not_after),
                fmt(current.not_after)
            ),
        ));
    }
    if new_leaf.not_before > now + CLOCK_SLACK {
        return Err(Error::bad_input(
            OUTPUT,
            format!(
                "is a certificate not valid before {} (now {}); check the clocks of this host and the CA",
                fmt(new_leaf.not_before),
                fmt(now)
            ),
        ));
    }
    Ok(())
}

/// Certificates as PEM (one `CERTIFICATE` block each), or the first one's DER.
fn encode(certificates: &[Certificate], as_pem: bool) -> Vec<u8> {
    if !as_pem {
        return certificates
            .first()
            .map(|c| c.der.clone())
            .unwrap_or_default();
    }
    certificates
        .iter()
        .map(|c| pem::encode(&pem::Pem::new("CERTIFICATE", c.der.clone())))
        .collect::<String>()
        .into_bytes()
}

/// Replaces the `--intermediates` file with the chain the command printed.
fn replace_intermediates(path: &Path, chain: &[Certificate]) -> Result<()> {
    let input = format!("--intermediates {}", path.display());
    let text = path.to_string_lossy();
    if text.starts_with("env:") || text == "-" {
        return Err(Error::invalid_argument(
            "--intermediates",
            "must be a file when the renew command prints intermediates, so that renewal can replace it",
        ));
    }
    let old = input_file::read(path, "--intermediates")?;
    let as_pem = input_file::looks_like_pem(&old) || chain.len() > 1;
    replace_file::replace_keeping_previous(path, &old, &encode(chain, as_pem), &input)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaf(not_before: OffsetDateTime, not_after: OffsetDateTime) -> Certificate {
        Certificate {
            der: Vec::new(),
            serial_decimal: "1".into(),
            subject: "CN=x".into(),
            common_name: Some("x".into()),
            issuer: "CN=ca".into(),
            not_before,
            not_after,
            public_key: Err("none".into()),
        }
    }

    #[test]
    fn due_a_third_of_the_lifetime_before_expiry_unless_told() {
        let start = OffsetDateTime::UNIX_EPOCH + time::Duration::days(1000);
        let cert = leaf(start, start + time::Duration::days(90));
        assert_eq!(renew_at(&cert, None), start + time::Duration::days(60));
        assert_eq!(
            renew_at(&cert, Some(Duration::from_secs(86400))),
            start + time::Duration::days(89)
        );
        // Longer than the certificate's whole life: due at once.
        assert!(renew_at(&cert, Some(Duration::from_secs(100 * 86400))) < start);
    }
}
