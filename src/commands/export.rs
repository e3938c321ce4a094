//! `export`: the credentials in one of the AWS CLI's export formats.

use zeroize::Zeroizing;

use crate::cli::{self, ExportArgs};
use crate::error::Result;
use crate::output::export::{self, ExportFormat};

/// The credentials as text for a shell, PowerShell, fish, JSON or an ini file.
pub fn run(args: &ExportArgs) -> Result<Zeroizing<String>> {
    // Checked before any network call, as `update --profile` is: a newline or a bracket in it
    // would write a section header of its own.
    crate::support::aws_files::check_section_name("--ini-profile", &args.ini_profile)?;
    let settings = super::from_cli::credential_settings(&args.credentials)?;
    let (credentials, _) = crate::credentials::one_shot::fetch(&settings)?;
    let format = match args.format {
        cli::ExportFormat::Env => ExportFormat::Env,
        cli::ExportFormat::EnvNoExport => ExportFormat::EnvNoExport,
        cli::ExportFormat::Powershell => ExportFormat::Powershell,
        cli::ExportFormat::Fish => ExportFormat::Fish,
        cli::ExportFormat::Json => ExportFormat::Json,
        cli::ExportFormat::Ini => ExportFormat::Ini,
    };
    export::format(&credentials, format, &args.ini_profile)
}
