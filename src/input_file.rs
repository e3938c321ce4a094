//! Reading the files a user points us at, with errors that say what is wrong with the file
//! (missing, a directory, empty, unreadable, no PEM block of the right kind).

use std::path::Path;

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// One PEM block; its contents are zeroized on drop since they may hold a key.
pub struct PemBlock {
    pub tag: String,
    pub contents: Zeroizing<Vec<u8>>,
}

/// Reads a file that holds no secret.
pub fn read(path: &Path, flag: &str) -> Result<Vec<u8>> {
    Ok(read_secret(path, flag)?.to_vec())
}

/// Reads a file that may hold a secret; the bytes are zeroized when dropped.
pub fn read_secret(path: &Path, flag: &str) -> Result<Zeroizing<Vec<u8>>> {
    let input = format!("{flag} {}", path.display());
    let metadata = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::bad_input(&input, "no such file; check the path"),
        std::io::ErrorKind::PermissionDenied => {
            Error::bad_input(&input, "permission denied; run as a user that can read it")
        }
        _ => Error::bad_input(&input, format!("cannot read: {e}")),
    })?;
    if metadata.is_dir() {
        return Err(Error::bad_input(
            &input,
            "is a directory; give the path of a file",
        ));
    }
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::PermissionDenied => {
            Error::bad_input(&input, "permission denied; run as a user that can read it")
        }
        _ => Error::bad_input(&input, format!("cannot read: {e}")),
    })?);
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(Error::bad_input(&input, "the file is empty"));
    }
    Ok(bytes)
}

/// True when the bytes are PEM text rather than DER.
pub fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

/// Every PEM block in `bytes`; `input` names the source in errors.
pub fn pem_blocks(bytes: &[u8], input: &str) -> Result<Vec<PemBlock>> {
    let blocks = pem::parse_many(bytes)
        .map_err(|e| Error::bad_input(input, format!("malformed PEM: {e}")))?;
    if blocks.is_empty() {
        return Err(Error::bad_input(input, "no PEM block found"));
    }
    Ok(blocks
        .into_iter()
        .map(|block| PemBlock {
            tag: block.tag().to_string(),
            contents: Zeroizing::new(block.into_contents()),
        })
        .collect())
}
