//! `credential-process`: the JSON document the AWS SDKs' `credential_process` setting reads.

use zeroize::Zeroizing;

use crate::cli::CredentialProcessArgs;
use crate::error::Result;

/// The document, with no trailing newline (as AWS's helper prints it).
pub fn run(args: &CredentialProcessArgs) -> Result<Zeroizing<String>> {
    let settings = super::from_cli::credential_settings(&args.credentials)?;
    let credentials = crate::credentials::one_shot::fetch_or_reuse(&settings)?;
    Ok(crate::output::credential_process_json(&credentials))
}
