//! Reading the inputs a user points us at, with errors that say what is wrong with them (missing,
//! a directory, empty, unreadable, no PEM block of the right kind). Besides file paths, a value
//! `env:NAME` names an environment variable and `-` standard input, each holding PEM text or
//! base64 DER, so CI systems can pass certificates and keys without writing them to disk.
//!
//! Every read is bounded: at most [`MAX_INPUT_BYTES`] (no certificate, key, bundle or config
//! file comes near it), and a file that is not a regular file (a FIFO, a device, `<(command)`)
//! must deliver within [`SPECIAL_FILE_TIMEOUT`]. So `--certificate /dev/zero` or a FIFO nobody
//! writes to fails at once with one line instead of eating memory or hanging.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// One PEM block; its contents are zeroized on drop since they may hold a key.
pub struct PemBlock {
    /// The PEM label (`CERTIFICATE`, `PRIVATE KEY`, …).
    pub tag: String,
    /// The decoded contents.
    pub contents: Zeroizing<Vec<u8>>,
}

/// The largest input read: certificates, keys, bundles and config files are kilobytes.
pub const MAX_INPUT_BYTES: u64 = 4 * 1024 * 1024;

/// How long a FIFO, a device or a pipe may take to deliver its contents.
pub const SPECIAL_FILE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a bounded read failed.
#[derive(Debug)]
pub enum BoundedReadError {
    /// The input holds more than [`MAX_INPUT_BYTES`].
    TooLarge,
    /// A FIFO or device did not reach its end within [`SPECIAL_FILE_TIMEOUT`].
    TimedOut,
    /// The read itself failed.
    Io(std::io::Error),
}

impl BoundedReadError {
    /// The problem, for an error line about `input`.
    fn problem(&self) -> String {
        match self {
            BoundedReadError::TooLarge => format!(
                "holds more than {} MiB, far more than any certificate, key, bundle or config file: check the path",
                MAX_INPUT_BYTES / 1024 / 1024
            ),
            BoundedReadError::TimedOut => format!(
                "is not a regular file and delivered no end within {} s (a FIFO nobody writes to?); give a regular file",
                SPECIAL_FILE_TIMEOUT.as_secs()
            ),
            BoundedReadError::Io(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                "permission denied; run as a user that can read it".into()
            }
            BoundedReadError::Io(e) if e.kind() == std::io::ErrorKind::NotFound => {
                "no such file; check the path".into()
            }
            BoundedReadError::Io(e) => format!("cannot read: {e}"),
        }
    }
}

impl std::fmt::Display for BoundedReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BoundedReadError::TooLarge => {
                write!(f, "more than {} MiB", MAX_INPUT_BYTES / 1024 / 1024)
            }
            BoundedReadError::TimedOut => write!(
                f,
                "not a regular file, and no end within {} s",
                SPECIAL_FILE_TIMEOUT.as_secs()
            ),
            BoundedReadError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// Reads at most [`MAX_INPUT_BYTES`] from `reader`; more is [`BoundedReadError::TooLarge`].
fn read_limited(reader: impl Read) -> std::result::Result<Zeroizing<Vec<u8>>, BoundedReadError> {
    let mut bytes = Zeroizing::new(Vec::new());
    reader
        .take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(BoundedReadError::Io)?;
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return Err(BoundedReadError::TooLarge);
    }
    Ok(bytes)
}

/// The contents of the file at `path`, bounded in size and, for anything but a regular file, in
/// time. A directory is an `Io` error of kind `IsADirectory`.
pub fn read_bounded(path: &Path) -> std::result::Result<Zeroizing<Vec<u8>>, BoundedReadError> {
    let metadata = std::fs::metadata(path).map_err(BoundedReadError::Io)?;
    if metadata.is_dir() {
        return Err(BoundedReadError::Io(
            std::io::ErrorKind::IsADirectory.into(),
        ));
    }
    if metadata.is_file() {
        let file = std::fs::File::open(path).map_err(BoundedReadError::Io)?;
        return read_limited(file);
    }
    // A FIFO, a device or a socket: opening may block (a FIFO with no writer) and reading may
    // never end, so both happen on a thread we stop waiting for. A thread still blocked then
    // stays blocked on that one file; the command fails and exits.
    let (sender, receiver) = std::sync::mpsc::channel();
    let owned = path.to_path_buf();
    std::thread::Builder::new()
        .name("bounded-read".into())
        .spawn(move || {
            let result = std::fs::File::open(&owned)
                .map_err(BoundedReadError::Io)
                .and_then(read_limited);
            let _ = sender.send(result);
        })
        .map_err(BoundedReadError::Io)?;
    receiver
        .recv_timeout(SPECIAL_FILE_TIMEOUT)
        .unwrap_or(Err(BoundedReadError::TimedOut))
}

/// The contents of `path` when it is a regular file of at most [`MAX_INPUT_BYTES`], else `None`
/// (a FIFO or a device is never read twice for a fingerprint).
pub fn regular_file_contents(path: &Path) -> Option<Zeroizing<Vec<u8>>> {
    std::fs::metadata(path)
        .ok()
        .filter(std::fs::Metadata::is_file)?;
    read_limited(std::fs::File::open(path).ok()?).ok()
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
        use std::io::IsTerminal;
        let stdin = std::io::stdin();
        if stdin.is_terminal() {
            return Err("standard input is a terminal; pipe the PEM into the command".into());
        }
        read_limited(stdin).map_err(|e| match e {
            BoundedReadError::Io(e) => format!("cannot read standard input: {e}"),
            other => format!("standard input {}", other.problem()),
        })
    })
}

/// Takes every `env:NAME` value among the command-line arguments, so that each is read once and
/// no program the helper starts inherits it (see [`secret_environment_names`]). The arguments
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
/// helper starts never inherits them.
const SECRET_VARIABLES: &[&str] = &["PKCS11_PIN", "ROLESANYWHERE_HELPER_CONTAINER_TOKEN"];

/// The environment variables a program the helper starts (`exec`'s command, the renew command)
/// must not inherit: those `env:NAME` inputs were taken from, the PKCS#11 PIN and serve's
/// container token.
pub fn secret_environment_names() -> Vec<String> {
    let inputs = match environment_inputs().lock() {
        Ok(inputs) => inputs,
        Err(poisoned) => poisoned.into_inner(),
    };
    inputs
        .keys()
        .cloned()
        .chain(SECRET_VARIABLES.iter().map(|name| name.to_string()))
        .collect()
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
    let bytes = read_bounded(path).map_err(|e| match e {
        BoundedReadError::Io(e) if e.kind() == std::io::ErrorKind::IsADirectory => {
            Error::bad_input(&input, "is a directory; give the path of a file")
        }
        other => Error::bad_input(&input, other.problem()),
    })?;
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
