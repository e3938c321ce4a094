//! `update`: keeps one profile of the shared credentials file current, with the same refresher
//! as `serve`; `--once` writes once and exits.

use crate::cli::UpdateArgs;
use crate::credentials::Credentials;
use crate::daemon::refresher::{self, RefreshPolicy};
use crate::error::{Error, Result};
use crate::output::credentials_file;

/// `update`: runs until SIGTERM/SIGINT (or once with `--once`). Failures after the start are
/// retried with backoff; the file keeps the last good credentials meanwhile.
pub fn run(args: &UpdateArgs) -> Result<()> {
    credentials_file::check_profile_name(&args.profile)?;
    let credential_args = args.credentials.clone();
    crate::commands::validate_inputs(&credential_args)?;
    let path = credentials_file::default_path()?;
    let options = crate::commands::client_options(&credential_args);
    let profile = args.profile.clone();
    if args.once == Some(true) {
        let (credentials, _) = crate::commands::fetch_credentials(&credential_args, &options)?;
        return credentials_file::write_profile(&path, &profile, &credentials);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Internal(format!("starting the async runtime: {e}")))?;
    let shutdown = {
        let _context = runtime.enter();
        crate::daemon::serve::shutdown_signal()?
    };
    eprintln!(
        "rolesanywhere-helper update: keeping [{profile}] of {} current",
        path.display()
    );
    // Certificate and key are re-read on every refresh.
    let fetch =
        move || crate::commands::fetch_credentials(&credential_args, &options).map(|(c, _)| c);
    let mut ready = false;
    let deliver = move |credentials: Credentials| {
        credentials_file::write_profile(&path, &profile, &credentials)?;
        if !ready {
            ready = true;
            crate::daemon::sd_notify::notify("READY=1\nSTATUS=credentials file current");
        }
        Ok(())
    };
    let (stop, fatal) = refresher::spawn(fetch, deliver, RefreshPolicy::from_env())?;
    let result = runtime.block_on(refresher::until_shutdown_or_fatal(shutdown, fatal));
    stop.stop();
    crate::daemon::sd_notify::notify("STOPPING=1");
    result
}
