//! `local-endpoint`: a local Roles Anywhere endpoint that verifies CreateSession requests.

use crate::cli::LocalEndpointArgs;
use crate::error::Result;

/// Runs the endpoint until SIGTERM/SIGINT.
pub fn run(args: &LocalEndpointArgs) -> Result<()> {
    crate::local_endpoint::run_cli(args)
}
