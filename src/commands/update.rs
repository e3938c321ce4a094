//! `update`: keeps one profile of the shared credentials file current.

use crate::cli::UpdateArgs;
use crate::error::Result;

/// Updates until SIGTERM/SIGINT, or once with `--once`.
pub fn run(args: &UpdateArgs) -> Result<()> {
    crate::daemon::update::run(super::from_cli::update_settings(args)?)
}
