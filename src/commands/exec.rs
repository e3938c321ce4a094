//! `exec`: runs a command with the credentials and the region in its environment.

use crate::cli::ExecArgs;
use crate::error::Result;

/// Runs the command; returns the exit code to leave with.
pub fn run(args: &ExecArgs) -> Result<i32> {
    let settings = super::from_cli::credential_settings(&args.credentials)?;
    crate::output::exec::run(
        || {
            let credentials = crate::credentials::one_shot::fetch_or_reuse(&settings)?;
            Ok((credentials, settings.request.validate()?.region))
        },
        &args.command,
    )
}
