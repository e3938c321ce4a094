//! `renew`: renews the certificate file once if it is due, for a systemd timer or cron.

use std::sync::Arc;

use crate::cli::RenewArgs;
use crate::enrollment::renew::{self, Outcome};
use crate::error::Result;
use crate::support::timestamp::iso8601;

/// Checks once and renews when due; the line to print says which.
pub fn run(args: &RenewArgs) -> Result<String> {
    let settings = super::from_cli::renew_settings(args)?;
    let spec = &settings.identity;
    let outcome = renew::renew_if_due(
        spec,
        &settings.renewal,
        &mut || crate::identity::load(spec).map(Arc::new),
        time::OffsetDateTime::now_utc(),
    )?;
    let certificate = spec.certificate.as_deref().unwrap_or_default();
    Ok(match outcome {
        Outcome::NotDue {
            renew_at,
            not_after,
        } => format!(
            "not due: {certificate} is valid until {}; renewal is due from {}\n",
            iso8601(not_after),
            iso8601(renew_at)
        ),
        Outcome::Renewed { serial, not_after } => format!(
            "renewed: {certificate} now holds serial {serial}, valid until {}; the previous certificate is in {}\n",
            iso8601(not_after),
            crate::support::replace_file::previous_path(std::path::Path::new(certificate))
                .display()
        ),
    })
}
