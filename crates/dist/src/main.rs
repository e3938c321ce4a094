//! `rolesanywhere-dist OUT_DIR`: writes the man pages (`OUT_DIR/man/*.1`, one for the program and
//! one per subcommand) and the bash, zsh and fish completions (`OUT_DIR/completions/`) that the
//! .deb ships, all from the clap definitions the helper itself parses with.

#![warn(missing_docs, unreachable_pub)]
#![deny(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory as _;
use clap_complete::Shell;
use rolesanywhere_helper::cli::Cli;
use rolesanywhere_helper::commands::completion;

/// Each shell's completion script and the file name its standard directory expects.
const COMPLETIONS: [(Shell, &str); 3] = [
    (Shell::Bash, "rolesanywhere-helper"),
    (Shell::Zsh, "_rolesanywhere-helper"),
    (Shell::Fish, "rolesanywhere-helper.fish"),
];

fn write_all(out: &Path) -> std::io::Result<()> {
    let man = out.join("man");
    std::fs::create_dir_all(&man)?;
    // No page for clap's `help` subcommand (man has its own); subcommands' flags are deferred
    // (built when one runs): build them all for the pages.
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    clap_mangen::generate_to(command, &man)?;
    let completions = out.join("completions");
    std::fs::create_dir_all(&completions)?;
    for (shell, name) in COMPLETIONS {
        std::fs::write(completions.join(name), completion::run(shell))?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(out), None) = (args.next(), args.next()) else {
        eprintln!("usage: rolesanywhere-dist OUT_DIR");
        return ExitCode::from(2);
    };
    let out = PathBuf::from(out);
    match write_all(&out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!(
                "rolesanywhere-dist: cannot write into {}: {error}",
                out.display()
            );
            ExitCode::from(1)
        }
    }
}
