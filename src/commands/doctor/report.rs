//! doctor's report: each check's outcome, printed as text or JSON, and the exit code.

use serde::Serialize;

use crate::error::{Error, ExitClass};
use crate::session::sts::CallerIdentity;
use crate::support::redact::pin_values;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
/// How one check went.
pub enum Status {
    /// The check passed.
    Pass,
    /// The check failed: see its detail and advice.
    Fail,
    /// Not run because a check it depends on failed.
    Skipped,
    /// Passed, with something to act on soon (the exit code stays 0).
    Warn,
}

/// One check's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// The check's name.
    pub check: &'static str,
    /// How it went.
    pub status: Status,
    /// What it found.
    pub detail: String,
    /// What to do about a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
    /// Who the credentials are: the identity check's finding, when it passed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<CallerIdentity>,
    #[serde(skip)]
    class: Option<ExitClass>,
}

impl Check {
    pub(super) fn pass(check: &'static str, detail: impl Into<String>) -> Check {
        Check {
            check,
            status: Status::Pass,
            detail: pin_values(&detail.into()),
            advice: None,
            identity: None,
            class: None,
        }
    }

    pub(super) fn fail(check: &'static str, error: &Error) -> Check {
        Check {
            check,
            status: Status::Fail,
            detail: pin_values(&error.to_string()),
            advice: None,
            identity: None,
            class: Some(error.class()),
        }
    }

    pub(super) fn fail_with(
        check: &'static str,
        detail: impl Into<String>,
        advice: impl Into<String>,
        class: ExitClass,
    ) -> Check {
        Check {
            check,
            status: Status::Fail,
            detail: pin_values(&detail.into()),
            advice: Some(pin_values(&advice.into())),
            identity: None,
            class: Some(class),
        }
    }

    /// The check with the identity it found (no secret: account, ARN and user id).
    pub(super) fn with_identity(mut self, identity: CallerIdentity) -> Check {
        self.identity = Some(identity);
        self
    }

    pub(super) fn warn(check: &'static str, detail: impl Into<String>) -> Check {
        Check {
            check,
            status: Status::Warn,
            detail: pin_values(&detail.into()),
            advice: None,
            identity: None,
            class: None,
        }
    }

    pub(super) fn skipped(check: &'static str, because: &str) -> Check {
        Check {
            check,
            status: Status::Skipped,
            detail: pin_values(&format!("not checked: {because}")),
            advice: None,
            identity: None,
            class: None,
        }
    }
}

/// The whole report: the checks in order, and the exit code (0 only when every check passed).
pub struct Report {
    /// The checks, in the order they ran.
    pub checks: Vec<Check>,
}

impl Report {
    /// 0 when every check passed, else the exit code of the first that did not.
    pub fn exit_code(&self) -> i32 {
        self.checks
            .iter()
            .find(|c| !matches!(c.status, Status::Pass | Status::Warn))
            .map_or(0, |c| {
                c.class.map_or(ExitClass::BadInput.code(), ExitClass::code)
            })
    }

    /// One line per check: `✔ name: detail` or `✘ name: detail — advice`.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for check in &self.checks {
            let mark = match check.status {
                Status::Pass => "✔",
                Status::Fail => "✘",
                Status::Skipped => "–",
                Status::Warn => "!",
            };
            out.push_str(&format!("{mark} {}: {}", check.check, check.detail));
            if let Some(advice) = &check.advice {
                out.push_str(&format!(" — {advice}"));
            }
            out.push('\n');
        }
        let failed = self
            .checks
            .iter()
            .filter(|c| c.status == Status::Fail)
            .count();
        out.push_str(&match failed {
            0 => "all checks passed\n".to_string(),
            n => format!("{n} check(s) failed\n"),
        });
        out
    }

    /// `{"ok": …, "checks": […]}` and a newline.
    pub fn json(&self) -> String {
        let document = serde_json::json!({ "ok": self.exit_code() == 0, "checks": self.checks });
        document.to_string() + "\n"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_check_text_holds_a_pin() {
        let uri = "pkcs11:token=t;object=k?pin-value=12%3B34&module-path=/m.so";
        let error = Error::bad_input(format!("--private-key {uri}"), "no such key");
        let report = Report {
            checks: vec![
                Check::pass("certificate", format!("from {uri}")),
                Check::fail("private key", &error),
                Check::fail_with("chain", uri, format!("fix {uri}"), ExitClass::BadInput),
                Check::skipped("clock", &format!("'{uri}'")),
            ],
        };
        for output in [report.text(), report.json()] {
            assert!(!output.contains("12%3B34"), "{output}");
            assert!(
                output.contains("pin-value=<redacted>&module-path=/m.so"),
                "{output}"
            );
        }
    }
}
