//! `export`: the credentials in one of the AWS CLI's export formats.

use zeroize::Zeroizing;

use crate::cli::{self, ExportArgs};
use crate::error::Result;
use crate::output::export::{self, ExportFormat};

/// The credentials as text for a shell, PowerShell, fish, JSON or an ini file.
pub fn run(args: &ExportArgs) -> Result<Zeroizing<String>> {
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
