//! `completion`: a shell completion script, from the clap definitions.

use clap::CommandFactory as _;

use crate::cli::Cli;

/// The completion script for `shell`.
pub fn run(shell: clap_complete::Shell) -> Vec<u8> {
    let mut script = Vec::new();
    clap_complete::generate(
        shell,
        &mut Cli::command(),
        "rolesanywhere-helper",
        &mut script,
    );
    script
}
