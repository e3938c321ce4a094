//! Where a token PIN comes from — the URI's pin-value, its pin-source file, `$PKCS11_PIN`, else a
//! prompt on the terminal (not echoed) — always held zeroized and never logged.

use std::io::{BufRead as _, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};

use zeroize::Zeroizing;

use super::uri::Pkcs11Uri;
use crate::error::{Error, Result};

/// The environment variable that may hold the token's user PIN.
pub(crate) const PIN_ENV: &str = "PKCS11_PIN";

/// A PIN and where it came from (for error messages; never the PIN itself).
pub(crate) struct Pin {
    pub(crate) value: Zeroizing<String>,
    pub(crate) origin: String,
}

/// The user PIN for `token_label`, from the first source that has one.
pub(crate) fn user_pin(uris: &[&Pkcs11Uri], input: &str, token_label: &str) -> Result<Pin> {
    for uri in uris {
        if let Some(value) = &uri.pin_value {
            return Ok(Pin {
                value: value.clone(),
                origin: "the URI's pin-value".into(),
            });
        }
        if let Some(source) = &uri.pin_source {
            return read_pin_source(source, input);
        }
    }
    if let Some(value) = std::env::var_os(PIN_ENV) {
        let value = Zeroizing::new(value.to_string_lossy().into_owned());
        if !value.is_empty() {
            return Ok(Pin {
                value,
                origin: format!("${PIN_ENV}"),
            });
        }
    }
    prompt(
        &format!("PIN for PKCS#11 token '{token_label}': "),
        input,
        &format!("set {PIN_ENV}, or add ?pin-source=FILE (or ?pin-value=…) to the URI"),
    )
    .map(|value| Pin {
        value,
        origin: "the PIN typed at the terminal".into(),
    })
}

/// Reads a pin-source: a `file:` URI or a path; the first line is the PIN.
fn read_pin_source(source: &str, input: &str) -> Result<Pin> {
    let path = source
        .strip_prefix("file://")
        .or_else(|| source.strip_prefix("file:"))
        .unwrap_or(source);
    let bytes = crate::support::input_file::read_bounded(Path::new(path)).map_err(|e| {
        Error::bad_input(
            input,
            format!(
                "cannot read the PIN file pin-source={path}: {e}; fix the path or its permissions"
            ),
        )
    })?;
    let text = std::str::from_utf8(&bytes).map_err(|_| {
        Error::bad_input(
            input,
            format!("the PIN file pin-source={path} is not UTF-8 text"),
        )
    })?;
    let first_line = text.lines().next().unwrap_or("");
    Ok(Pin {
        value: Zeroizing::new(first_line.to_string()),
        origin: format!("pin-source={path}"),
    })
}

/// Asks on the controlling terminal with echo off; with no terminal, fails at once with `advice`.
pub(crate) fn prompt(question: &str, input: &str, advice: &str) -> Result<Zeroizing<String>> {
    let no_terminal = |why: &str| {
        Error::bad_input(
            input,
            format!("a PIN is needed and there is no terminal to ask for it ({why}); {advice}"),
        )
    };
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|e| no_terminal(&e.to_string()))?;
    let echo_off = EchoOff::new(&tty).map_err(|e| no_terminal(&e))?;
    let mut writer = &tty;
    writer
        .write_all(question.as_bytes())
        .map_err(|e| no_terminal(&e.to_string()))?;
    let mut line = Zeroizing::new(String::new());
    let read = std::io::BufReader::new(&tty).read_line(&mut line);
    let _ = writer.write_all(b"\n");
    drop(echo_off);
    read.map_err(|e| no_terminal(&e.to_string()))?;
    let trimmed = line.trim_end_matches(['\r', '\n']);
    Ok(Zeroizing::new(trimmed.to_string()))
}

/// Turns terminal echo off with `stty` (no libc binding needed) and back on when dropped.
struct EchoOff {
    tty: std::fs::File,
}

impl EchoOff {
    fn new(tty: &std::fs::File) -> std::result::Result<EchoOff, String> {
        let tty = tty.try_clone().map_err(|e| e.to_string())?;
        stty(&tty, "-echo")?;
        Ok(EchoOff { tty })
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        let _ = stty(&self.tty, "echo");
    }
}

fn stty(tty: &std::fs::File, setting: &str) -> std::result::Result<(), String> {
    let stdin = tty.try_clone().map_err(|e| e.to_string())?;
    let status = Command::new("stty")
        .arg(setting)
        .stdin(Stdio::from(stdin))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run stty to hide the PIN: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err("stty could not turn echo off".into())
    }
}
