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
    super::run(settings.credentials, sink, async || Ok(()))
}
