//! `generate-key`: makes a key where it will stay (a file, the TPM, a PKCS#11 token) and prints
//! what to give as `--private-key`.

use crate::cli::GenerateKeyArgs;
use crate::error::Result;

/// Makes the key; the output is one line: the key file's path or the token key's URI.
pub fn run(args: &GenerateKeyArgs) -> Result<String> {
    let spec = super::from_cli::key_generation(args)?;
    let key = crate::identity::generate::generate_key(&spec)?;
    tracing::debug!(key = %key.private_key, public = %key.public.describe(), "key created");
    Ok(format!("{}\n", key.private_key))
}
