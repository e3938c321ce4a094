//! The `rolesanywhere-helper` binary: parses the command line, runs the command, prints its
//! output on stdout and any error as one line on stderr, and exits with the error's class code.

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use rolesanywhere_helper::cli::{Cli, Command};
use rolesanywhere_helper::{Error, commands};

fn init_logging(debug: bool) {
    let level = if debug {
        tracing::Level::DEBUG
    } else {
        tracing::Level::WARN
    };
    let filter = tracing_subscriber::filter::Targets::new()
        .with_target("rolesanywhere_helper", level)
        .with_default(tracing::Level::WARN);
    use tracing_subscriber::prelude::*;
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false),
        )
        .with(filter)
        .init();
}

fn run(cli: Cli) -> Result<Vec<u8>, Error> {
    match cli.command {
        Command::CredentialProcess(args) => {
            init_logging(args.key.debug == Some(true));
            let document = commands::credential_process(&args)?;
            Ok(document.as_bytes().to_vec())
        }
        Command::SignString(args) => {
            init_logging(args.key.debug == Some(true));
            commands::sign_string(&args)
        }
        Command::ReadCertificateData(args) => {
            init_logging(args.debug == Some(true));
            commands::read_certificate_data(&args).map(String::into_bytes)
        }
        Command::LocalEndpoint(args) => {
            init_logging(args.debug);
            rolesanywhere_helper::local_endpoint::run_cli(&args)?;
            Ok(Vec::new())
        }
        Command::Demo(args) => {
            init_logging(false);
            rolesanywhere_helper::demo::run(&args).map(|output| output.as_bytes().to_vec())
        }
        Command::Version => Ok(format!("{}\n", env!("CARGO_PKG_VERSION")).into_bytes()),
        Command::Completion { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "rolesanywhere-helper",
                &mut script,
            );
            Ok(script)
        }
    }
}

/// Parses the command line. Usage errors become one line on stderr and exit 2, like every
/// other failure; help goes to stdout with exit 0.
fn parse_command_line() -> Result<Cli, ExitCode> {
    match Cli::try_parse() {
        Ok(cli) => Ok(cli),
        Err(error) => {
            use clap::error::ErrorKind;
            if matches!(
                error.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = error.print();
                return Err(ExitCode::SUCCESS);
            }
            let rendered = error.render().to_string();
            let first = rendered.lines().next().unwrap_or("invalid command line");
            let choices = rendered
                .lines()
                .find_map(|l| l.trim().strip_prefix("[possible values: "));
            let choices = choices
                .map(|c| format!(" (one of {}", c.replace(']', ")")))
                .unwrap_or_default();
            eprintln!(
                "rolesanywhere-helper: {}{choices}; see --help",
                first.trim_start_matches("error: ")
            );
            Err(ExitCode::from(2))
        }
    }
}

fn main() -> ExitCode {
    let cli = match parse_command_line() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    match run(cli) {
        Ok(output) => {
            let mut stdout = std::io::stdout().lock();
            let written = stdout.write_all(&output).and_then(|()| stdout.flush());
            // The output may hold credentials: wipe our copy whatever happened.
            let mut output = output;
            zeroize::Zeroize::zeroize(&mut output);
            match written {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("rolesanywhere-helper: cannot write to stdout: {e}");
                    ExitCode::from(1)
                }
            }
        }
        Err(error) => {
            eprintln!("rolesanywhere-helper: {error}");
            ExitCode::from(error.exit_code() as u8)
        }
    }
}
