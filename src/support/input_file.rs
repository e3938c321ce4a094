//! Reading the inputs a user points us at, with errors that say what is wrong with them (missing,
//! a directory, empty, unreadable, no PEM block of the right kind). Besides file paths, a value
//! `env:NAME` names an environment variable and `-` standard input, each holding PEM text or
//! base64 DER, so CI systems can pass certificates and keys without writing them to disk.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, OnceLock};

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// One PEM block; its contents are zeroized on drop since they may hold a key.
pub struct PemBlock {
    /// The PEM label (`CERTIFICATE`, `PRIVATE KEY`, …).
    pub tag: String,
    /// The decoded contents.
    pub contents: Zeroizing<Vec<u8>>,
}

/// Reads a file that holds no secret.
pub fn read(path: &Path, flag: &str) -> Result<Vec<u8>> {
    Ok(read_secret(path, flag)?.to_vec())
}

/// Values of `env:NAME` inputs, read once; the variables themselves are removed from the
/// environment so no child process inherits a key.
fn environment_inputs() -> &'static Mutex<HashMap<String, Zeroizing<Vec<u8>>>> {
    static INPUTS: OnceLock<Mutex<HashMap<String, Zeroizing<Vec<u8>>>>> = OnceLock::new();
    INPUTS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Standard input, read once when first named by `-`.
fn standard_input() -> &'static std::result::Result<Zeroizing<Vec<u8>>, String> {
    static STDIN: OnceLock<std::result::Result<Zeroizing<Vec<u8>>, String>> = OnceLock::new();
    STDIN.get_or_init(|| {
        use std::io::{IsTerminal, Read};
        let mut stdin = std::io::stdin();
        if stdin.is_terminal() {
            return Err("standard input is a terminal; pipe the PEM into the command".into());
        }
        let mut bytes = Zeroizing::new(Vec::new());
        stdin
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        Ok(bytes)
    })
}

/// Takes every `env:NAME` value among the command-line arguments, so that each is read once and
/// no program the helper starts inherits it (see [`taken_environment_names`]). The arguments
/// after `--` are `exec`'s command's, not ours; one that is not UTF-8 names no variable.
pub fn take_environment_inputs<I, S>(args: I)
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut inputs = match environment_inputs().lock() {
        Ok(inputs) => inputs,
        Err(poisoned) => poisoned.into_inner(),
    };
    for arg in args {
        let arg = arg.as_ref();
        if arg == "--" {
            break;
        }
        let Some(arg) = arg.to_str() else {
            continue;
        };
        let value = arg.split_once('=').map_or(arg, |(_, v)| v);
        let Some(name) = value.strip_prefix("env:") else {
            continue;
        };
        if name.is_empty() || inputs.contains_key(name) {
            continue;
        }
        if let Some(content) = std::env::var_os(name) {
            inputs.insert(
                name.to_string(),
                Zeroizing::new(content.into_encoded_bytes()),
            );
        }
    }
}

/// Environment variables that hold a secret of ours whatever the command line says: a program the
/// helper starts (`exec`'s command) never inherits them.
pub const SECRET_VARIABLES: &[&str] = &["PKCS11_PIN", "ROLESANYWHERE_HELPER_CONTAINER_TOKEN"];

/// The environment variables `env:NAME` inputs were taken from: a child process (`exec`'s
/// command) must not inherit them.
pub fn taken_environment_names() -> Vec<String> {
    let inputs = match environment_inputs().lock() {
        Ok(inputs) => inputs,
        Err(poisoned) => poisoned.into_inner(),
    };
    inputs.keys().cloned().collect()
}

/// PEM text as is; anything else is taken as base64 of DER (white space ignored).
fn pem_or_base64(bytes: &[u8], input: &str) -> Result<Zeroizing<Vec<u8>>> {
    if looks_like_pem(bytes) {
        return Ok(Zeroizing::new(bytes.to_vec()));
    }
    use base64::Engine as _;
    let compact: Zeroizing<Vec<u8>> = Zeroizing::new(
        bytes
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect(),
    );
    base64::engine::general_purpose::STANDARD
        .decode(&*compact)
        .map(Zeroizing::new)
        .map_err(|_| Error::bad_input(input, "holds neither PEM nor base64 DER"))
}

/// Reads an `env:NAME` or `-` input, or `None` when `path` is an ordinary path.
fn read_virtual(path: &Path, flag: &str) -> Option<Result<Zeroizing<Vec<u8>>>> {
    let text = path.to_str()?;
    let input = format!("{flag} {text}");
    if text == "-" {
        return Some(match standard_input() {
            Ok(bytes) if bytes.iter().all(|b| b.is_ascii_whitespace()) => {
                Err(Error::bad_input(&input, "standard input is empty"))
            }
            Ok(bytes) => pem_or_base64(bytes, &input),
            Err(why) => Err(Error::bad_input(&input, why.clone())),
        });
    }
    let name = text.strip_prefix("env:")?;
    let inputs = match environment_inputs().lock() {
        Ok(inputs) => inputs,
        Err(poisoned) => poisoned.into_inner(),
    };
    Some(match inputs.get(name) {
        Some(bytes) if bytes.iter().all(|b| b.is_ascii_whitespace()) => Err(Error::bad_input(
            &input,
            "the environment variable is empty",
        )),
        Some(bytes) => pem_or_base64(bytes, &input),
        None => Err(Error::bad_input(
            &input,
            format!("the environment variable {name} is not set"),
        )),
    })
}

/// Reads a file (or `env:NAME`, or `-`) that may hold a secret; the bytes are zeroized when dropped.
pub fn read_secret(path: &Path, flag: &str) -> Result<Zeroizing<Vec<u8>>> {
    if let Some(result) = read_virtual(path, flag) {
        return result;
    }
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
