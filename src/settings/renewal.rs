//! Certificate renewal's settings: the command that turns a request into a certificate, when
//! to run it, and for how long at most.

use std::time::Duration;

use crate::error::{Error, Result};
use crate::settings::identity::IdentitySpec;

/// How long a renew command may run when `--renew-timeout` is not given.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// `renew`'s settings: the certificate and key, and how to renew.
pub struct RenewSettings {
    /// The certificate file to renew and the key its requests are signed with.
    pub identity: IdentitySpec,
    /// The command and its timing.
    pub renewal: RenewalSettings,
}

/// `--renew-command`, `--renew-before` and `--renew-timeout`.
#[derive(Debug, Clone)]
pub struct RenewalSettings {
    /// Run with `sh -c`: a PEM certificate request on stdin, the certificate (and its chain) on
    /// stdout.
    pub command: String,
    /// Renew this long before the certificate expires; `None`: a third of its lifetime.
    pub before: Option<Duration>,
    /// The command is killed (with everything it started) after this long.
    pub timeout: Duration,
}

impl RenewalSettings {
    /// The settings from the flags' texts; `None` when no `--renew-command` is given (then the
    /// other two must not be given either).
    pub fn from_flags(
        command: Option<&str>,
        before: Option<&str>,
        timeout: Option<&str>,
    ) -> Result<Option<RenewalSettings>> {
        let command = command.map(str::trim).filter(|c| !c.is_empty());
        let Some(command) = command else {
            for (flag, value) in [("--renew-before", before), ("--renew-timeout", timeout)] {
                if value.is_some() {
                    return Err(Error::invalid_argument(
                        flag,
                        "has no effect without --renew-command; give the command that renews the certificate",
                    ));
                }
            }
            return Ok(None);
        };
        let before = before
            .map(|value| parse_duration("--renew-before", value))
            .transpose()?;
        let timeout = match timeout {
            Some(value) => parse_duration("--renew-timeout", value)?,
            None => DEFAULT_TIMEOUT,
        };
        if timeout.is_zero() {
            return Err(Error::invalid_argument(
                "--renew-timeout",
                "must be longer than 0; give for example 60s or 5m",
            ));
        }
        Ok(Some(RenewalSettings {
            command: command.to_string(),
            before,
            timeout,
        }))
    }
}

/// A duration as `--renew-before` takes it: seconds (`86400`), or a number with `s`, `m`, `h`
/// or `d` (`30d`, `12h`).
pub fn parse_duration(flag: &str, value: &str) -> Result<Duration> {
    let bad = |why: &str| {
        Error::invalid_argument(
            flag,
            format!("'{value}' {why}; give seconds, or a number with s, m, h or d (such as 30d)"),
        )
    };
    let text = value.trim();
    let (digits, unit) = match text.char_indices().last() {
        Some((at, c)) if c.is_ascii_alphabetic() => (&text[..at], c.to_ascii_lowercase()),
        _ => (text, 's'),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(
            "is not a whole number of seconds, minutes, hours or days",
        ));
    }
    let number: u64 = digits.parse().map_err(|_| bad("is too large"))?;
    let seconds_per = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86400,
        _ => return Err(bad("has an unknown unit")),
    };
    // A century: anything longer is a typo, and would overflow time arithmetic.
    const LONGEST: u64 = 100 * 365 * 86400;
    match number.checked_mul(seconds_per) {
        Some(seconds) if seconds <= LONGEST => Ok(Duration::from_secs(seconds)),
        _ => Err(bad("is too large")),
    }
}

/// Renewal replaces the certificate file: refuses a `--certificate` that is not a plain file
/// (a token object, an environment variable, standard input).
pub fn check_certificate_is_a_file(spec: &IdentitySpec) -> Result<&str> {
    let Some(certificate) = spec.certificate.as_deref() else {
        return Err(Error::invalid_argument(
            "--certificate",
            "is required to renew; give the certificate file that renewal replaces",
        ));
    };
    let not_a_file =
        certificate.starts_with("pkcs11:") || certificate.starts_with("env:") || certificate == "-";
    if not_a_file {
        return Err(Error::invalid_argument(
            "--renew-command",
            format!(
                "renews a certificate file, and --certificate {} is not one; give the certificate as a file (a certificate on a token is renewed by writing the token's object, which serve and update pick up)",
                crate::support::redact::pin_values(certificate)
            ),
        ));
    }
    if spec.private_key.is_none() {
        return Err(Error::invalid_argument(
            "--renew-command",
            "needs the key in a file or place of its own (--private-key), so that replacing the certificate file never touches the key",
        ));
    }
    Ok(certificate)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_seconds_or_a_number_with_a_unit() {
        for (text, seconds) in [
            ("86400", 86400),
            ("90s", 90),
            ("15m", 900),
            ("12h", 43200),
            ("30d", 2_592_000),
            ("2D", 172_800),
            ("0", 0),
        ] {
            assert_eq!(
                parse_duration("--renew-before", text).unwrap(),
                Duration::from_secs(seconds),
                "{text}"
            );
        }
        for text in [
            "",
            "d",
            "-5",
            "1.5d",
            "5w",
            "10 d x",
            "1e3",
            "99999999999999999999",
            "40000d",
        ] {
            let error = parse_duration("--renew-before", text).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{text}");
            assert!(
                error.to_string().starts_with("--renew-before: "),
                "{text}: {error}"
            );
        }
    }

    #[test]
    fn renewal_flags_need_the_command() {
        assert!(
            RenewalSettings::from_flags(None, None, None)
                .unwrap()
                .is_none()
        );
        let error = RenewalSettings::from_flags(None, Some("1d"), None).unwrap_err();
        assert!(
            error.to_string().contains("without --renew-command"),
            "{error}"
        );
        let settings = RenewalSettings::from_flags(Some("cat"), Some("1d"), None)
            .unwrap()
            .unwrap();
        assert_eq!(settings.before, Some(Duration::from_secs(86400)));
        assert_eq!(settings.timeout, DEFAULT_TIMEOUT);
        assert!(RenewalSettings::from_flags(Some("cat"), None, Some("0")).is_err());
    }
}
