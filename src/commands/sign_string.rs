//! `sign-string`: signs a fixed test message with the key, to check that the key works.

use crate::cli::{DigestName, SignStringArgs, SignStringFormat};
use crate::error::Result;
use crate::identity::Digest;

/// The fixed message `sign-string` signs: a prefix, the test version, and a hash of the key
/// (none for ML-DSA keys, as AWS's helper 1.8 signs them).
pub fn signing_test_message(public_key_bytes: Option<&[u8]>) -> Vec<u8> {
    let mut message = b"AWS Roles Anywhere Credential Helper Signing Test1".to_vec();
    if let Some(bytes) = public_key_bytes {
        let mut keyed = b"IAM RA".to_vec();
        keyed.extend_from_slice(bytes);
        message.extend_from_slice(&Digest::Sha256.hash(&keyed));
    }
    message
}

/// Signs the fixed test message and formats the signature.
pub fn run(args: &SignStringArgs) -> Result<Vec<u8>> {
    let spec = super::from_cli::identity_spec(&args.key, None)?;
    let signer = crate::identity::load_signer_checked(&spec)?;
    let digest = match args.digest {
        DigestName::Sha256 => Digest::Sha256,
        DigestName::Sha384 => Digest::Sha384,
        DigestName::Sha512 => Digest::Sha512,
    };
    let message = signing_test_message(signer.public_key().signing_test_bytes());
    let signature = signer.sign(&message, digest)?;
    Ok(match args.format {
        SignStringFormat::Json => format!("\"{}\"", hex::encode(&signature)).into_bytes(),
        SignStringFormat::Text => hex::encode(&signature).into_bytes(),
        SignStringFormat::Bin => signature,
    })
}
