//! `doctor`: checks a setup step by step and says what is wrong before AWS says only "Untrusted
//! signing certificate" or "Invalid signature": arguments, certificate, key, validity, the
//! certificate's profile, the chain, the endpoint and its TLS, the clock, a live CreateSession,
//! and who its credentials are (sts:GetCallerIdentity). Each check passes or fails with one line of why and what to do. The
//! certificate and key are loaded through the same identity dispatch as `credential-process`,
//! so doctor accepts every setup it does (files, PKCS#12, PKCS#11, TPM, `env:` and `-`).

mod checks;
mod report;

use std::sync::Arc;

use time::OffsetDateTime;

pub use report::{Check, Report, Status};

use crate::cli::DoctorArgs;
use crate::error::Error;
use crate::identity::certificate::{self, Certificate};
use crate::identity::{self, Identity};
use crate::session::SessionClient;
use crate::session::answer::Credentials;
use crate::session::prepared::{self, Prepared};
use crate::session::sts::{self, StsClient};
use crate::settings::client::ClientOptions;
use crate::settings::credentials::CredentialSettings;

/// What the certificate and key checks found: the identity, or as much of it as loaded.
enum Loaded {
    /// Certificate, chain and key, checked against each other.
    Identity(Identity),
    /// The certificate loaded but the identity did not; the intermediates as they loaded.
    LeafOnly(Certificate, crate::Result<Vec<Certificate>>),
    /// Not even the certificate.
    Nothing,
}

/// Runs every check.
pub fn run(args: &DoctorArgs) -> Report {
    let credentials = &args.credentials;
    let now = OffsetDateTime::now_utc();
    let mut checks = Vec::new();

    let request = super::from_cli::request(credentials);
    let inputs = request.validate();
    match &inputs {
        Ok(inputs) => checks.push(Check::pass(
            "arguments",
            format!(
                "ARNs well formed; region {}{}; session of {} s",
                inputs.region,
                if crate::settings::arn::is_known_region(&inputs.region) {
                    ""
                } else {
                    " (not a region this release knows: check its spelling if it is not new)"
                },
                inputs.duration_seconds
            ),
        )),
        Err(e) => checks.push(Check::fail("arguments", e)),
    }

    // The certificate and the key, then what the service demands of them.
    let settings = super::from_cli::credential_settings(credentials);
    let loaded = match &settings {
        Ok(settings) => load_identity(settings, &mut checks),
        Err(e) => {
            checks.push(Check::fail("certificate", e));
            checks.push(Check::skipped("private key", "no certificate"));
            Loaded::Nothing
        }
    };
    let (leaf, chain) = match &loaded {
        Loaded::Identity(identity) => (Some(&identity.leaf), Ok(identity.chain.as_slice())),
        Loaded::LeafOnly(leaf, chain) => (Some(leaf), chain.as_deref()),
        Loaded::Nothing => (None, Ok(&[][..])),
    };
    let renewal = match &settings {
        Ok(settings) => super::from_cli::renewal(&args.renewal, &settings.identity),
        Err(_) => Ok(None),
    };
    match leaf {
        Some(cert) => {
            checks.push(checks::validity(cert, now));
            match &renewal {
                Ok(renewal) => checks.extend(checks::renewal(cert, renewal.as_ref(), now)),
                Err(e) => checks.push(Check::fail("renewal", e)),
            }
            checks.push(checks::profile(cert));
            checks.push(match chain {
                Ok(chain) => checks::chain(args.trust_anchor_ca.as_deref(), cert, chain, now),
                Err(e) => Check::fail("chain", e),
            });
        }
        None => {
            for name in ["validity", "certificate profile", "chain"] {
                checks.push(Check::skipped(name, "no certificate"));
            }
        }
    }

    // The endpoint, its TLS, the clock, and the service itself.
    let (Ok(inputs), Ok(settings)) = (inputs, settings) else {
        for name in ["endpoint", "clock", "CreateSession", "identity"] {
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
    let (endpoint, probed) = match prepared::resolve_endpoint(&settings, &inputs) {
        Ok(endpoint) => {
            let probed =
                SessionClient::new(endpoint.clone(), &settings.client).and_then(|client| {
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
            checks.push(checks::clock(date, OffsetDateTime::now_utc()));
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
        // Asked for, as CreateSession's row: a pass that says so, so the exit code stays 0.
        checks.push(Check::pass(
            "identity",
            "not checked: no credentials (--no-create-session)",
        ));
    } else if checks.iter().any(|c| c.status == Status::Fail) {
        checks.push(Check::skipped(
            "CreateSession",
            "fix the failed checks first",
        ));
        checks.push(Check::skipped("identity", "CreateSession was not called"));
    } else {
        // The identity and endpoint checked above: loading the key again would ask again for
        // its password or PIN.
        let role_arn = inputs.role_arn.clone();
        let inputs_region = inputs.region.clone();
        let prepared = match (loaded, endpoint) {
            (Loaded::Identity(identity), Some(endpoint)) => {
                Some(Prepared::new(inputs, Arc::new(identity), endpoint, now))
            }
            _ => None,
        };
        let fetched = match &prepared {
            Some(prepared) => prepared.fetch(&settings.client),
            None => Err(Error::Internal(
                "no identity or endpoint to call with".into(),
            )),
        };
        let region = inputs_region;
        let chains = prepared.as_ref().is_some_and(|p| p.inputs.chain.is_some());
        match fetched {
            Ok((credentials, info)) => {
                checks.push(Check::pass(
                    "CreateSession",
                    format!(
                        "credentials for {} until {}",
                        info.assumed_role_arn.as_deref().unwrap_or(&role_arn),
                        crate::support::timestamp::iso8601(credentials.expiration)
                    ),
                ));
                checks.push(identity_check(
                    &runtime,
                    &credentials,
                    &region,
                    args.credentials.chain.sts_endpoint.as_deref(),
                    &settings.client,
                ));
                if let Some(prepared) = prepared
                    && chains
                {
                    checks.push(chain_check(&runtime, prepared, &settings, credentials));
                }
            }
            Err(e) => {
                checks.push(Check::fail("CreateSession", &e));
                checks.push(Check::skipped("identity", "CreateSession failed"));
                if chains {
                    checks.push(Check::skipped("assume role", "CreateSession failed"));
                }
            }
        }
    }
    Report { checks }
}

/// The last check: sts:GetCallerIdentity with the credentials CreateSession returned, so the user
/// sees in one line which account and role they really hold.
fn identity_check(
    runtime: &tokio::runtime::Runtime,
    credentials: &Credentials,
    region: &str,
    explicit_endpoint: Option<&str>,
    options: &ClientOptions,
) -> Check {
    let called = sts::sts_env_from_process()
        .and_then(|env| sts::resolve_endpoint(region, explicit_endpoint, &env))
        .and_then(|endpoint| StsClient::new(endpoint, region, options))
        .and_then(|client| runtime.block_on(client.get_caller_identity(credentials)));
    match called {
        Ok(identity) => Check::pass(
            "identity",
            format!(
                "account {}, ARN {}, user id {}",
                identity.account, identity.arn, identity.user_id
            ),
        )
        .with_identity(identity),
        Err(e @ Error::StsDenied { .. }) => Check::fail("identity", &e),
        Err(e) => Check::fail_with(
            "identity",
            e.to_string(),
            "check --sts-endpoint / AWS_ENDPOINT_URL_STS, the network and proxies, and that the STS endpoint's CA is trusted (AWS_CA_BUNDLE)",
            e.class(),
        ),
    }
}

/// With `--assume-role-arn`: sts:AssumeRole with the CreateSession credentials, then
/// sts:GetCallerIdentity with the chained ones, so the user sees the role they chain into.
fn chain_check(
    runtime: &tokio::runtime::Runtime,
    mut prepared: Prepared,
    settings: &CredentialSettings,
    source: Credentials,
) -> Check {
    let region = prepared.inputs.region.clone();
    let chained = prepared::resolve_sts_endpoint(settings, &prepared.inputs).and_then(|sts| {
        prepared.sts_endpoint = sts.clone();
        let endpoint = sts.ok_or_else(|| Error::Internal("no STS endpoint to call".into()))?;
        let chained = prepared.chain(&settings.client, source)?;
        let client = StsClient::new(endpoint, &region, &settings.client)?;
        let identity = runtime.block_on(client.get_caller_identity(&chained))?;
        Ok((chained, identity))
    });
    match chained {
        Ok((chained, identity)) => Check::pass(
            "assume role",
            format!(
                "chained into {} until {}",
                identity.arn,
                crate::support::timestamp::iso8601(chained.expiration)
            ),
        ),
        Err(e) => Check::fail("assume role", &e),
    }
}

/// The certificate and key checks: the whole identity through the one dispatch; when that fails,
/// the certificate alone, to tell a certificate problem from a key problem.
fn load_identity(settings: &CredentialSettings, checks: &mut Vec<Check>) -> Loaded {
    let spec = &settings.identity;
    match identity::load(spec) {
        Ok(identity) => {
            checks.push(certificate_check(&identity.leaf));
            checks.push(Check::pass(
                "private key",
                format!(
                    "{} key, matches the certificate",
                    identity.signer.public_key().describe()
                ),
            ));
            Loaded::Identity(identity)
        }
        Err(load_error) => match identity::load_leaf(spec) {
            Ok(leaf) => {
                checks.push(certificate_check(&leaf));
                let chain = match &spec.intermediates {
                    Some(path) => certificate::load_chain(path),
                    None => Ok(Vec::new()),
                };
                // The key alone: a key that loads and matches leaves the load's own error
                // (a flag that does not fit this kind of certificate, say) as the key's check.
                let key_check = identity::load_signer(spec).and_then(|signer| {
                    // The inputs as errors name them, a URI's PIN left out.
                    leaf.check_key_matches(
                        signer.public_key(),
                        &spec.certificate_input(),
                        &spec.key_input(),
                    )
                });
                checks.push(match key_check {
                    Err(e) => Check::fail("private key", &e),
                    Ok(()) if chain.is_err() => {
                        Check::skipped("private key", "the chain did not load")
                    }
                    Ok(()) => Check::fail("private key", &load_error),
                });
                Loaded::LeafOnly(leaf, chain)
            }
            Err(certificate_error) => {
                checks.push(Check::fail("certificate", &certificate_error));
                checks.push(Check::skipped("private key", "no certificate"));
                Loaded::Nothing
            }
        },
    }
}

fn certificate_check(cert: &Certificate) -> Check {
    Check::pass(
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
    )
}
