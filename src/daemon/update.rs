//! `update`: keeps one profile of the shared credentials file current, with the same refresh
//! loop as `serve`; `--once` writes once and exits.

use crate::credentials::Credentials;
use crate::error::Result;
use crate::output::credentials_file;
use crate::settings::daemon::UpdateSettings;

/// `update`: runs until SIGTERM/SIGINT (or once with `--once`). Failures after the start are
/// retried with backoff; the file keeps the last good credentials meanwhile.
pub fn run(settings: UpdateSettings) -> Result<()> {
    credentials_file::check_profile_name(&settings.profile)?;
    settings.credentials.request.validate()?;
    let path = credentials_file::default_path()?;
    let profile = settings.profile;
    if settings.once {
        if let Some(renewal) = &settings.renewal {
            renew_once(&settings.credentials.identity, renewal);
        }
        let (credentials, _) = crate::credentials::one_shot::fetch(&settings.credentials)?;
        return credentials_file::write_profile(&path, &profile, &credentials);
    }
    eprintln!(
        "rolesanywhere-helper update: keeping [{profile}] of {} current",
        path.display()
    );
    let sink = super::Sink {
        deliver: move |credentials: Credentials| {
            credentials_file::write_profile(&path, &profile, &credentials)
        },
        // The file keeps the last good credentials; nothing waits on the refresher here.
        report: |_: super::refresher::Progress<'_>| {},
        ready_status: "credentials file current",
    };
    super::run(
        settings.credentials,
        settings.renewal,
        sink,
        async || Ok(()),
    )
}

/// `update --once` with renewal: renews first when due; a failure is logged and the current
/// certificate used, as the long-running update does.
fn renew_once(
    spec: &crate::settings::identity::IdentitySpec,
    renewal: &crate::settings::renewal::RenewalSettings,
) {
    let outcome = crate::enrollment::renew::renew_if_due(
        spec,
        renewal,
        &mut || crate::identity::load(spec).map(std::sync::Arc::new),
        time::OffsetDateTime::now_utc(),
    );
    match outcome {
        Ok(crate::enrollment::renew::Outcome::Renewed { serial, .. }) => {
            tracing::warn!(serial, "the certificate was renewed");
        }
        Ok(crate::enrollment::renew::Outcome::NotDue { .. }) => {}
        Err(error) => tracing::warn!(
            "renewing the certificate failed; the current certificate is used: {error}"
        ),
    }
}
