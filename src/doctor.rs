//! `doctor`: checks a setup step by step and says what is wrong before AWS says only "Untrusted
//! signing certificate" or "Invalid signature": arguments, certificate, key, validity, the
//! certificate's profile, the chain, the endpoint and its TLS, the clock, and a live
//! CreateSession. Each check passes or fails with one line of why and what to do.

use std::path::Path;

use serde::Serialize;
use time::OffsetDateTime;

use crate::certificate::{self, Certificate};
use crate::cli::DoctorArgs;
use crate::commands::{self, client_options};
use crate::error::{Error, ExitClass};
use crate::session::SessionClient;

/// How far the local clock may be from the endpoint's (SigV4 allows five minutes).
const MAX_CLOCK_SKEW_SECONDS: i64 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    /// Not run because a check it depends on failed.
    Skipped,
}

/// One check's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub check: &'static str,
    pub status: Status,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub advice: Option<String>,
    #[serde(skip)]
    class: Option<ExitClass>,
}

impl Check {
    fn pass(check: &'static str, detail: impl Into<String>) -> Check {
        Check {
            check,
            status: Status::Pass,
            detail: detail.into(),
            advice: None,
            class: None,
        }
    }

    fn fail(check: &'static str, error: &Error) -> Check {
        Check {
            check,
            status: Status::Fail,
            detail: error.to_string(),
            advice: None,
            class: Some(error.class()),
        }
    }

    fn fail_with(
        check: &'static str,
        detail: impl Into<String>,
        advice: impl Into<String>,
        class: ExitClass,
    ) -> Check {
        Check {
            check,
            status: Status::Fail,
            detail: detail.into(),
            advice: Some(advice.into()),
            class: Some(class),
        }
    }

    fn skipped(check: &'static str, because: &str) -> Check {
        Check {
            check,
            status: Status::Skipped,
            detail: format!("not checked: {because}"),
            advice: None,
            class: None,
        }
    }
}

/// The whole report: the checks in order, and the exit code (0 only when every check passed).
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    pub fn exit_code(&self) -> i32 {
        self.checks
            .iter()
            .find(|c| c.status != Status::Pass)
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

    pub fn json(&self) -> String {
        let document = serde_json::json!({ "ok": self.exit_code() == 0, "checks": self.checks });
        document.to_string() + "\n"
    }
}

/// Runs every check.
pub fn run(args: &DoctorArgs) -> Report {
    let credentials = &args.credentials;
    let now = OffsetDateTime::now_utc();
    let mut checks = Vec::new();

    let inputs = commands::validate_inputs(credentials);
    match &inputs {
        Ok(inputs) => checks.push(Check::pass(
            "arguments",
            format!(
                "ARNs well formed; region {}; session of {} s",
                inputs.region, inputs.duration_seconds
            ),
        )),
        Err(e) => checks.push(Check::fail("arguments", e)),
    }

    // The certificate and the key, then what the service demands of them.
    let leaf = match credentials
        .key
        .certificate
        .as_deref()
        .filter(|p| !p.is_empty())
    {
        Some(path) => certificate::load_leaf(Path::new(path)),
        None => Err(Error::invalid_argument(
            "--certificate",
            "is required; give the path of the certificate file",
        )),
    };
    match &leaf {
        Ok(cert) => checks.push(Check::pass(
            "certificate",
            format!(
                "{}, serial {}, {}",
                cert.subject,
                cert.serial_decimal,
                cert.public_key
                    .as_ref()
                    .map(|k| k.describe())
                    .unwrap_or_else(|why| why.clone())
            ),
        )),
        Err(e) => checks.push(Check::fail("certificate", e)),
    }
    let identity =
        commands::load_identity(&credentials.key, credentials.intermediates.as_deref(), now);
    checks.push(match (&leaf, &identity) {
        (Err(_), _) => Check::skipped("private key", "no certificate"),
        (Ok(_), Ok(identity)) => Check::pass(
            "private key",
            format!(
                "{} key, matches the certificate",
                identity.signer.public_key().describe()
            ),
        ),
        // load_identity also checks validity: report that below, not as a key problem.
        (Ok(cert), Err(_)) => match commands::load_signer(&credentials.key) {
            Ok(signer) => {
                let cert_input = format!(
                    "--certificate {}",
                    credentials.key.certificate.as_deref().unwrap_or("")
                );
                let key_input = format!(
                    "--private-key {}",
                    credentials.key.private_key.as_deref().unwrap_or("")
                );
                match cert.check_key_matches(signer.public_key(), &cert_input, &key_input) {
                    Ok(()) => Check::pass(
                        "private key",
                        format!(
                            "{} key, matches the certificate",
                            signer.public_key().describe()
                        ),
                    ),
                    Err(e) => Check::fail("private key", &e),
                }
            }
            Err(e) => Check::fail("private key", &e),
        },
    });
    if let Ok(cert) = &leaf {
        checks.push(validity(cert, now));
        checks.push(profile(cert));
    } else {
        checks.push(Check::skipped("validity", "no certificate"));
        checks.push(Check::skipped("certificate profile", "no certificate"));
    }
    checks.push(chain(args, leaf.as_ref().ok(), now));

    // The endpoint, its TLS, the clock, and the service itself.
    let Ok(inputs) = inputs else {
        for name in ["endpoint", "clock", "CreateSession"] {
            checks.push(Check::skipped(name, "the arguments are wrong"));
        }
        return Report { checks };
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            checks.push(Check::fail(
                "endpoint",
                &Error::Internal(format!("starting the async runtime: {e}")),
            ));
            return Report { checks };
        }
    };
    let options = client_options(credentials);
    let (endpoint, probed) = match commands::resolve_endpoint(credentials, &inputs) {
        Ok(endpoint) => {
            let probed = SessionClient::new(endpoint.clone(), &options).and_then(|client| {
                let url = client.endpoint().url.to_string();
                runtime.block_on(client.probe()).map(|date| (url, date))
            });
            (Some(endpoint), probed)
        }
        Err(e) => (None, Err(e)),
    };
    match probed {
        Ok((url, date)) => {
            checks.push(Check::pass(
                "endpoint",
                format!("{url} reached, TLS verified"),
            ));
            checks.push(clock(date, OffsetDateTime::now_utc()));
        }
        Err(e) => {
            checks.push(Check::fail_with(
                "endpoint",
                e.to_string(),
                "check --endpoint / --region, DNS, the network and proxies, and that the endpoint's CA is trusted (AWS_CA_BUNDLE)",
                e.class(),
            ));
            checks.push(Check::skipped("clock", "the endpoint cannot be reached"));
        }
    }
    if args.no_create_session {
        checks.push(Check::pass(
            "CreateSession",
            "not called (--no-create-session)",
        ));
    } else if checks.iter().any(|c| c.status == Status::Fail) {
        checks.push(Check::skipped(
            "CreateSession",
            "fix the failed checks first",
        ));
    } else {
        // The identity and endpoint checked above: loading the key again would ask again for
        // its password or PIN.
        let role_arn = inputs.role_arn.clone();
        let fetched = match (identity, endpoint) {
            (Ok(identity), Some(endpoint)) => {
                commands::Prepared::new(inputs, std::sync::Arc::new(identity), endpoint, now)
                    .fetch(&options)
            }
            (Err(e), _) => Err(e),
            (Ok(_), None) => Err(Error::Internal("no endpoint to call".into())),
        };
        checks.push(match fetched {
            Ok((credentials, info)) => Check::pass(
                "CreateSession",
                format!(
                    "credentials for {} until {}",
                    info.assumed_role_arn.as_deref().unwrap_or(&role_arn),
                    crate::output::iso8601(credentials.expiration)
                ),
            ),
            Err(e) => Check::fail("CreateSession", &e),
        });
    }
    Report { checks }
}

fn validity(cert: &Certificate, now: OffsetDateTime) -> Check {
    if let Err(e) = cert.check_validity(now, "certificate") {
        return Check::fail("validity", &e);
    }
    let left = cert.not_after - now;
    let detail = format!(
        "valid until {} ({} days left)",
        crate::output::iso8601(cert.not_after),
        left.whole_days()
    );
    if left < time::Duration::days(30) {
        return Check::pass("validity", format!("{detail}; renew it soon"));
    }
    Check::pass("validity", detail)
}

fn profile(cert: &Certificate) -> Check {
    let parsed = match x509_parser::parse_x509_certificate(&cert.der) {
        Ok((_, parsed)) => parsed,
        Err(e) => {
            return Check::fail_with(
                "certificate profile",
                e.to_string(),
                "re-issue the certificate",
                ExitClass::BadInput,
            );
        }
    };
    match rolesanywhere_verifier::check_leaf_profile(&parsed) {
        Ok(()) => Check::pass(
            "certificate profile",
            "X.509 v3, not a CA, digitalSignature, signed with SHA-256 or stronger",
        ),
        Err(why) => Check::fail_with(
            "certificate profile",
            why,
            "have the CA issue an end-entity certificate (CA:false, keyUsage digitalSignature) signed with SHA-256 or stronger",
            ExitClass::BadInput,
        ),
    }
}

fn chain(args: &DoctorArgs, leaf: Option<&Certificate>, now: OffsetDateTime) -> Check {
    let Some(leaf) = leaf else {
        return Check::skipped("chain", "no certificate");
    };
    let intermediates = match &args.credentials.intermediates {
        Some(path) => match certificate::load_chain(path) {
            Ok(certs) => certs,
            Err(e) => return Check::fail("chain", &e),
        },
        None => Vec::new(),
    };
    let given = format!("{} intermediate certificate(s) given", intermediates.len());
    let Some(anchor_path) = &args.trust_anchor_ca else {
        return Check::pass(
            "chain",
            format!("{given}; pass --trust-anchor-ca with the trust anchor's CA to check the path"),
        );
    };
    let anchors = match crate::input_file::read(anchor_path, "--trust-anchor-ca")
        .map_err(|e| e.to_string())
        .and_then(|bytes| rolesanywhere_verifier::load_anchors(&bytes))
    {
        Ok(anchors) => anchors,
        Err(why) => {
            return Check::fail_with(
                "chain",
                why,
                "give the trust anchor's CA certificates as PEM",
                ExitClass::BadInput,
            );
        }
    };
    let ders: Vec<Vec<u8>> = intermediates.iter().map(|c| c.der.clone()).collect();
    match rolesanywhere_verifier::verify_chain(&leaf.der, &ders, &anchors, now) {
        Ok(verified) => {
            let mut path = vec![leaf.subject.clone()];
            path.extend(verified.path_subjects.iter().cloned());
            path.push(verified.anchor_subject.clone());
            Check::pass(
                "chain",
                format!("{} ({} certificates)", path.join(" → "), path.len()),
            )
        }
        Err(why) => Check::fail_with(
            "chain",
            why,
            "pass the issuing CAs with --intermediates, and check that the trust anchor holds the root that issued them (at most 5 certificates in all)",
            ExitClass::BadInput,
        ),
    }
}

fn clock(endpoint_date: Option<OffsetDateTime>, now: OffsetDateTime) -> Check {
    let Some(date) = endpoint_date else {
        return Check::pass("clock", "the endpoint sent no Date header; not compared");
    };
    let skew = (now - date).whole_seconds();
    if skew.abs() > MAX_CLOCK_SKEW_SECONDS {
        return Check::fail_with(
            "clock",
            format!(
                "this machine's clock is {} s {} the endpoint's",
                skew.abs(),
                if skew > 0 { "ahead of" } else { "behind" }
            ),
            "synchronise the clock (NTP, e.g. systemd-timesyncd or chrony): signatures are refused beyond 5 minutes",
            ExitClass::BadInput,
        );
    }
    Check::pass(
        "clock",
        format!("within {} s of the endpoint's", skew.abs()),
    )
}
