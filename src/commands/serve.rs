//! `serve`: always-fresh credentials over IMDSv2 and a container-credentials endpoint.

use crate::cli::ServeArgs;
use crate::error::Result;

/// Serves until SIGTERM/SIGINT.
pub fn run(args: &ServeArgs) -> Result<()> {
    crate::daemon::serve::run(super::from_cli::serve_settings(args)?)
}
