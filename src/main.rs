//! The `rolesanywhere-helper` binary: parses the command line, runs the command, prints its
//! output on stdout and any error as one line on stderr, and exits with the error's class code.

use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use rolesanywhere_helper::cli::{Cli, Command};
use rolesanywhere_helper::error::one_line;
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
                // Colours only on a terminal: journald, files and pipes get plain text.
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
                .with_target(false),
        )
        .with(filter)
        .init();
}

fn run(cli: Cli) -> Result<Vec<u8>, Error> {
    match cli.command {
        Command::CredentialProcess(args) => {
            init_logging(args.credentials.key.debug == Some(true));
            let document = commands::credential_process::run(&args)?;
            Ok(document.as_bytes().to_vec())
        }
        Command::SignString(args) => {
            init_logging(args.key.debug == Some(true));
            commands::sign_string::run(&args)
        }
        Command::ReadCertificateData(args) => {
            init_logging(args.debug == Some(true));
            commands::read_certificate_data::run(&args).map(String::into_bytes)
        }
        Command::Serve(args) => {
            init_logging(args.credentials.key.debug == Some(true));
            commands::serve::run(&args).map(|()| Vec::new())
        }
        Command::Update(args) => {
            init_logging(args.credentials.key.debug == Some(true));
            commands::update::run(&args).map(|()| Vec::new())
        }
        Command::Renew(args) => {
            init_logging(args.key.debug == Some(true));
            commands::renew::run(&args).map(String::into_bytes)
        }
        Command::LocalEndpoint(args) => {
            init_logging(args.debug);
            commands::local_endpoint::run(&args).map(|()| Vec::new())
        }
        Command::Demo(args) => {
            init_logging(false);
            commands::demo::run(&args).map(|output| output.as_bytes().to_vec())
        }
        Command::Doctor(args) => {
            init_logging(args.credentials.key.debug == Some(true));
            let report = commands::doctor::run(&args);
            let text = if args.json {
                report.json()
            } else {
                report.text()
            };
            match report.exit_code() {
                0 => Ok(text.into_bytes()),
                // The report is the output even when checks fail: print it, then leave with the
                // first failed check's code.
                code => {
                    let mut stdout = std::io::stdout().lock();
                    let _ = stdout
                        .write_all(text.as_bytes())
                        .and_then(|()| stdout.flush());
                    std::process::exit(code);
                }
            }
        }
        Command::Export(args) => {
            init_logging(args.credentials.key.debug == Some(true));
            commands::export::run(&args).map(|text| text.as_bytes().to_vec())
        }
        // `main` runs exec itself: it leaves with the command's exit code, not with output.
        Command::Exec(_) => Err(Error::Internal("exec reached the output path".into())),
        Command::GenerateKey(args) => {
            init_logging(args.debug == Some(true));
            commands::generate_key::run(&args).map(String::into_bytes)
        }
        Command::Csr(args) => {
            init_logging(args.key.debug == Some(true));
            commands::csr::run(&args).map(String::into_bytes)
        }
        Command::Version => Ok(commands::version::run()),
        Command::Completion { shell } => Ok(commands::completion::run(shell)),
    }
}

/// Parses the command line, then wipes our copy of it (it may hold a password or a token, now
/// held zeroized in the parsed flags). Usage errors become one line on stderr and exit 2, like
/// every other failure; help goes to stdout with exit 0.
fn parse_command_line(argv: Vec<OsString>) -> Result<Cli, ExitCode> {
    let parsed = parse_arguments(&argv);
    for argument in argv {
        zeroize::Zeroize::zeroize(&mut argument.into_encoded_bytes());
    }
    parsed
}

fn parse_arguments(argv: &[OsString]) -> Result<Cli, ExitCode> {
    match Cli::try_parse_from(argv) {
        Ok(cli) => Ok(cli),
        Err(error) => {
            use clap::error::{ContextKind, ContextValue, ErrorKind};
            if error.kind() == ErrorKind::DisplayVersion {
                // The same text as the `version` subcommand (clap's would add the name).
                let _ = std::io::stdout().write_all(&commands::version::run());
                return Err(ExitCode::SUCCESS);
            }
            if matches!(
                error.kind(),
                ErrorKind::DisplayHelp | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = error.print();
                return Err(ExitCode::SUCCESS);
            }
            if error.kind() == ErrorKind::InvalidUtf8 {
                eprintln!("rolesanywhere-helper: {}; see --help", not_utf8(argv));
                return Err(ExitCode::from(2));
            }
            let mut rendered = error.render().to_string();
            // The value the user typed is quoted in the message: shown escaped, so a newline or a
            // carriage return in it cannot split the line or overwrite the terminal.
            if let Some(ContextValue::String(value)) = error.get(ContextKind::InvalidValue)
                && !value.is_empty()
            {
                rendered = rendered.replace(value.as_str(), &one_line(value));
            }
            let first = rendered.lines().next().unwrap_or("invalid command line");
            let first = one_line(first);
            let choices = rendered
                .lines()
                .find_map(|l| l.trim().strip_prefix("[possible values: "));
            let choices = choices
                .map(|c| format!(" (one of {}", c.replace(']', ")")))
                .unwrap_or_default();
            let suggestion = suggestion(&error)
                .map(|s| format!(" (did you mean {s}?)"))
                .unwrap_or_default();
            eprintln!(
                "rolesanywhere-helper: {}{choices}{suggestion}; see --help",
                first.trim_start_matches("error: ")
            );
            Err(ExitCode::from(2))
        }
    }
}

/// clap's "a similar subcommand / argument / value exists" tip, as `'name'` (several joined by
/// "or"), so the one-line error keeps it.
fn suggestion(error: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue};
    [
        ContextKind::SuggestedSubcommand,
        ContextKind::SuggestedArg,
        ContextKind::SuggestedValue,
    ]
    .into_iter()
    .find_map(|kind| match error.get(kind)? {
        ContextValue::String(name) => Some(vec![name.clone()]),
        ContextValue::Strings(names) if !names.is_empty() => Some(names.clone()),
        _ => None,
    })
    .map(|names| {
        names
            .iter()
            .map(|name| format!("'{}'", one_line(name)))
            .collect::<Vec<_>>()
            .join(" or ")
    })
}

/// The message for a command-line argument of ours that is not UTF-8 (clap only says that one
/// is): which flag it is the value of, with the offending bytes shown as `\xNN`.
fn not_utf8(argv: &[OsString]) -> String {
    let ours = argv.iter().skip(1).take_while(|a| a.as_os_str() != "--");
    let mut previous: Option<&OsStr> = None;
    for arg in ours {
        if arg.to_str().is_none() {
            let bytes = arg.as_encoded_bytes();
            // `--flag=value`, else the value of the flag before it.
            let (name, value) = match bytes.strip_prefix(b"--").and_then(|_| {
                let mut parts = bytes.splitn(2, |b| *b == b'=');
                Some((parts.next()?, parts.next()?))
            }) {
                Some((flag, value)) => (Some(String::from_utf8_lossy(flag).into_owned()), value),
                None => (
                    previous
                        .and_then(OsStr::to_str)
                        .filter(|p| p.starts_with('-'))
                        .map(str::to_string),
                    bytes,
                ),
            };
            let shown = shown_bytes(value);
            return match name {
                Some(flag) => format!(
                    "{}: '{shown}' is not valid UTF-8; give it in UTF-8 (for a file whose name is not, a symbolic link whose name is)",
                    one_line(&flag)
                ),
                None => format!("the argument '{shown}' is not valid UTF-8; give it in UTF-8"),
            };
        }
        previous = Some(arg);
    }
    "an argument is not valid UTF-8; give every argument in UTF-8".into()
}

/// Bytes as text: valid UTF-8 as it is (control characters escaped), other bytes as `\xNN`.
fn shown_bytes(bytes: &[u8]) -> String {
    let mut shown = String::new();
    for chunk in bytes.utf8_chunks() {
        shown.push_str(&one_line(chunk.valid()));
        for byte in chunk.invalid() {
            shown.push_str(&format!("\\x{byte:02x}"));
        }
    }
    shown
}

/// With `--profile NAME` (`update --config-profile NAME`), parses again with the profile's settings as flags placed before the
/// user's: a flag given twice takes its last value, so the user's win.
fn with_profile_settings(cli: Cli) -> Result<Cli, ExitCode> {
    // `update --profile` names the credentials file's section it writes: there the config
    // profile is `--config-profile`.
    let (profile, flag) = match &cli.command {
        Command::CredentialProcess(args) => (args.profile.clone(), "--profile"),
        Command::Export(args) => (args.profile.clone(), "--profile"),
        Command::Doctor(args) => (args.profile.clone(), "--profile"),
        Command::Exec(args) => (args.profile.clone(), "--profile"),
        Command::Serve(args) => (args.profile.clone(), "--profile"),
        Command::Update(args) => (args.config_profile.clone(), "--config-profile"),
        _ => (None, "--profile"),
    };
    let Some(profile) = profile else {
        return Ok(cli);
    };
    let flags =
        match rolesanywhere_helper::settings::profile::flags_for_profile_named_by(&profile, flag) {
            Ok(flags) => flags,
            Err(error) => {
                eprintln!("rolesanywhere-helper: {error}");
                return Err(ExitCode::from(error.exit_code() as u8));
            }
        };
    // `env:NAME` values in the profile are taken like those on the command line.
    rolesanywhere_helper::support::input_file::take_environment_inputs(flags.iter().cloned());
    let mut argv: Vec<OsString> = std::env::args_os().collect();
    // argv[1] is the command (flags before it would have been rejected by the first parse).
    let at = 2.min(argv.len());
    argv.splice(at..at, flags.into_iter().map(Into::into));
    parse_command_line(argv)
}

fn main() -> ExitCode {
    // As `OsString`s: an argument that is not UTF-8 is clap's to report (ours) or passed on
    // untouched (the command's, after `exec --`), never a panic.
    let argv: Vec<OsString> = std::env::args_os().collect();
    rolesanywhere_helper::support::input_file::take_environment_inputs(argv.iter().skip(1));
    let cli = match parse_command_line(argv) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let cli = match with_profile_settings(cli) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    if let Command::Exec(args) = &cli.command {
        init_logging(args.credentials.key.debug == Some(true));
        return match commands::exec::run(args) {
            Ok(code) => {
                commands::print_secret_warnings();
                ExitCode::from(u8::try_from(code).unwrap_or(1))
            }
            Err(error) => {
                eprintln!("rolesanywhere-helper: {error}");
                ExitCode::from(error.exit_code() as u8)
            }
        };
    }
    match run(cli) {
        Ok(output) => {
            // After the command has succeeded: a failure stays one line.
            commands::print_secret_warnings();
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
