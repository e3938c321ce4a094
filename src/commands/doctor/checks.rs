//! doctor's checks that need no network: the certificate's validity and profile, and its chain
//! to the trust anchor; and the clock, against the endpoint's.

use time::OffsetDateTime;

use super::report::Check;
use crate::error::ExitClass;
use crate::identity::certificate::Certificate;

/// How far the local clock may be from the endpoint's (SigV4 allows five minutes).
const MAX_CLOCK_SKEW_SECONDS: i64 = 300;

/// The certificate is valid now, and not about to expire.
pub(super) fn validity(cert: &Certificate, now: OffsetDateTime) -> Check {
    if let Err(e) = cert.check_validity(now, "certificate") {
        return Check::fail("validity", &e);
    }
    let left = cert.not_after - now;
    let detail = format!(
        "valid until {} ({} days left)",
        crate::support::timestamp::iso8601(cert.not_after),
        left.whole_days()
    );
    Check::pass("validity", detail)
}

/// With the renewal flags: when the certificate is due. Without them: a warning when it expires
/// within 30 days, else nothing to report.
pub(super) fn renewal(
    cert: &Certificate,
    renewal: Option<&crate::settings::renewal::RenewalSettings>,
    now: OffsetDateTime,
) -> Option<Check> {
    use crate::enrollment::renew;
    let Some(renewal) = renewal else {
        return renew::expiry_warning(cert, now).map(|warning| Check::warn("renewal", warning));
    };
    let due = renew::renew_at(cert, renewal.before);
    let when = crate::support::timestamp::iso8601(due);
    Some(Check::pass(
        "renewal",
        if due <= now {
            format!("due now (since {when}): serve, update and renew run --renew-command")
        } else {
            format!("due from {when}, when serve, update or renew run --renew-command")
        },
    ))
}

/// The certificate is what Roles Anywhere accepts: a v3 end-entity certificate for signing.
pub(super) fn profile(cert: &Certificate) -> Check {
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

/// The leaf and `intermediates` chain to the trust anchor's CAs in `anchor_path`, when given.
pub(super) fn chain(
    anchor_path: Option<&std::path::Path>,
    leaf: &Certificate,
    intermediates: &[Certificate],
    now: OffsetDateTime,
) -> Check {
    let given = format!("{} intermediate certificate(s) given", intermediates.len());
    let Some(anchor_path) = anchor_path else {
        return Check::pass(
            "chain",
            format!("{given}; pass --trust-anchor-ca with the trust anchor's CA to check the path"),
        );
    };
    let anchors = match crate::support::input_file::read(anchor_path, "--trust-anchor-ca")
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

/// The local clock is within SigV4's tolerance of the endpoint's.
pub(super) fn clock(endpoint_date: Option<OffsetDateTime>, now: OffsetDateTime) -> Check {
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
