//! One line to a TPM: commands sent (and resent when the TPM asks), failures sorted by what
//! cures them, and the objects a reset or a dropped line took forgotten.

use super::Options;
use super::rc::{self, ResponseCode};
use super::transport::{Target, Transport};
use super::wire::{self, PublicArea};
use crate::error::{Error, Result};

/// The mutable part: the line to the TPM and what we have loaded in it.
pub(crate) struct Connection {
    /// Where the TPM is.
    pub(crate) target: Target,
    transport: Option<Transport>,
    /// The transient handle of our loaded key, flushed on drop.
    pub(crate) loaded_key: Option<u32>,
    /// Set after the TPM refused the password: never asked again, since each try counts toward
    /// dictionary-attack lockout.
    pub(crate) refused: Option<String>,
}

/// Why a TPM exchange failed, before it is turned into a user-facing error.
pub(crate) enum Failure {
    Open(String),
    Io(std::io::Error),
    Malformed(&'static str, String),
    Tpm(&'static str, ResponseCode),
}

impl Failure {
    /// Worth one rebuild-and-retry: the line dropped, or our objects are gone.
    pub(crate) fn calls_for_rebuild(&self) -> bool {
        match self {
            Failure::Io(_) => true,
            Failure::Tpm(_, code) => code.is_stale_object(),
            _ => false,
        }
    }
}

impl Connection {
    /// Nothing open or loaded yet: the line opens with the first command.
    pub(crate) fn new(target: Target) -> Connection {
        Connection {
            target,
            transport: None,
            loaded_key: None,
            refused: None,
        }
    }

    /// Sends one command; on success returns what follows the response header. Retries what
    /// the TPM asks to be retried (the command was not run, so no password was checked).
    pub(crate) fn execute(
        &mut self,
        name: &'static str,
        command: &[u8],
    ) -> Result<Vec<u8>, Failure> {
        let mut waits = 0u64;
        loop {
            if self.transport.is_none() {
                self.transport = Some(Transport::open(&self.target).map_err(Failure::Open)?);
            }
            let Some(transport) = self.transport.as_mut() else {
                return Err(Failure::Open("no connection".into()));
            };
            let raw = match transport.transact(command) {
                Ok(raw) => raw,
                Err(e) => {
                    // A broken line is reopened by the next command.
                    self.transport = None;
                    return Err(Failure::Io(e));
                }
            };
            let response = wire::parse_response(&raw).map_err(|m| Failure::Malformed(name, m.0))?;
            if response.code == 0 {
                return Ok(response.body);
            }
            let code = ResponseCode(response.code);
            if code.is_retry_later() && waits < 5 {
                waits += 1;
                std::thread::sleep(std::time::Duration::from_millis(20 * waits));
                continue;
            }
            return Err(Failure::Tpm(name, code));
        }
    }

    /// After the line dropped or the TPM lost our objects: start a reset TPM that nobody started
    /// (TPM2_Startup(CLEAR)), and forget the loaded handle so the next use loads the key again.
    pub(crate) fn forget_lost_objects(&mut self, failure: &Failure) {
        match failure {
            Failure::Tpm(_, code) if code.base() == rc::INITIALIZE => {
                let startup = wire::command(wire::CC_STARTUP, &[], None, &[0, 0]);
                let _ = self.execute("TPM2_Startup", &startup);
            }
            Failure::Io(_) => {
                // Only the line broke: without a resource manager our key still fills a slot.
                // (Behind /dev/tpmrm0 it went with the old line, and this flush fails harmlessly.)
                if let Some(handle) = self.loaded_key {
                    let _ = self.flush(handle);
                }
            }
            _ => {}
        }
        self.loaded_key = None;
    }

    /// Flushes our loaded key, when the line it was loaded over is still open.
    pub(crate) fn flush_loaded_key(&mut self) {
        if let Some(handle) = self.loaded_key.take()
            && self.transport.is_some()
        {
            let _ = self.flush(handle);
        }
    }

    /// TPM2_FlushContext: frees the object slot `handle` holds.
    pub(crate) fn flush(&mut self, handle: u32) -> Result<(), Failure> {
        let command = wire::command(wire::CC_FLUSH_CONTEXT, &[], None, &handle.to_be_bytes());
        self.execute("TPM2_FlushContext", &command).map(|_| ())
    }

    /// TPM2_ReadPublic: the public area of the object at `handle`.
    pub(crate) fn read_public(&mut self, handle: u32) -> Result<PublicArea, Failure> {
        let command = wire::command(wire::CC_READ_PUBLIC, &[handle], None, &[]);
        let body = self.execute("TPM2_ReadPublic", &command)?;
        let mut reader = wire::Reader::new(&body);
        let public = reader
            .tpm2b("outPublic")
            .map_err(|m| Failure::Malformed("TPM2_ReadPublic", m.0))?;
        wire::parse_public(public).map_err(|m| Failure::Malformed("TPM2_ReadPublic", m.0))
    }
}

/// The user-facing error for a failure that needs no knowledge of the key.
pub(crate) fn explain_failure(failure: Failure, input: &str, target: &Target) -> Error {
    match failure {
        Failure::Open(why) => Error::bad_input(input, format!("cannot reach the TPM: {why}")),
        Failure::Io(e) => Error::bad_input(
            input,
            format!("lost the connection to the TPM at {target}: {e}; check that it is running"),
        ),
        Failure::Malformed(command, why) => Error::bad_input(
            input,
            format!("the TPM at {target} sent a malformed answer to {command}: {why}"),
        ),
        Failure::Tpm(command, code) => {
            let advice = code.advice();
            let separator = if advice.is_empty() { "" } else { ": " };
            Error::bad_input(
                input,
                format!("the TPM at {target} refused {command} with {code}{separator}{advice}"),
            )
        }
    }
}

/// The TPM `options` (else `TPM_DEVICE`, else the default devices) name.
pub(crate) fn choose_target(options: &Options, input: &str) -> Result<Target> {
    Target::choose(options.device.as_deref()).map_err(|why| Error::bad_input(input, why))
}
