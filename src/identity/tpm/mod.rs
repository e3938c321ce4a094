//! Keys sealed in a TPM 2.0 (`TSS2 PRIVATE KEY` files and persistent `handle:0x81…` keys),
//! spoken to directly in TPM 2.0 command bytes: no tpm2-tss library, at build time or run time.
//!
//! One [`TpmKey`] keeps its connection and its loaded key across signatures (a long-running
//! process that holds it signs without re-creating anything), rebuilds both by itself after a
//! TPM reset, a restart or an eviction, and flushes what it loaded when dropped, since a TPM
//! without a resource manager has only about three object slots.

mod keyfile;
mod rc;
mod transport;
mod wire;

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use zeroize::Zeroizing;

use super::{Curve, Digest, PublicKey, Signer};
use crate::error::{Error, Result};
use crate::settings::identity::IdentitySpec;
use crate::support::input_file;
use rc::ResponseCode;
use transport::Transport;
pub use transport::{TPM_DEVICE_ENV, Target};
use wire::{KeyParameters, PublicArea};

/// The PEM label of TPM key files.
pub const TSS2_PEM_LABEL: &str = "TSS2 PRIVATE KEY";

/// Where the key's password comes from: the settings' type, under the name this module uses.
pub use crate::settings::identity::TpmKeyPassword as Password;

/// How to reach and unlock a TPM key.
#[derive(Default)]
pub struct Options {
    /// The key's password.
    pub password: Password,
    /// The TPM to use instead of `TPM_DEVICE` / the default devices (same syntax as `TPM_DEVICE`).
    pub device: Option<String>,
}

impl Options {
    /// The options the identity settings give.
    pub fn from_spec(spec: &IdentitySpec) -> Options {
        Options {
            password: spec.tpm_key_password.clone(),
            device: None,
        }
    }
}

/// The persistent TPM key `--private-key handle:0x81…` names, or `None` when it names something
/// else (a TSS2 key file is recognised by its contents: [`key_from_file_bytes`]).
pub fn load_if_tpm_handle(identity: &IdentitySpec) -> Result<Option<Box<dyn Signer>>> {
    let Some(spec) = identity.private_key.as_deref() else {
        return Ok(None);
    };
    let Some(handle) = spec.strip_prefix("handle:") else {
        return Ok(None);
    };
    tracing::debug!(key = spec, "using the TPM key");
    let handle = parse_persistent_handle(handle)?;
    let options = Options::from_spec(identity);
    let input = format!("--private-key {spec}");
    Ok(Some(Box::new(TpmKey::from_persistent_handle(
        handle, &input, &options,
    )?)))
}

/// The TPM key in the `--private-key` file `spec`, whose contents are `bytes`; `None` when the
/// file is not a TPM key file (the caller reads the file once for every kind of key).
pub fn key_from_file_bytes(
    identity: &IdentitySpec,
    spec: &str,
    bytes: &[u8],
) -> Result<Option<Box<dyn Signer>>> {
    if !is_tpm_key_file(bytes) {
        return Ok(None);
    }
    let options = Options::from_spec(identity);
    let input = format!("--private-key {spec}");
    tracing::debug!(key = spec, "using the TPM key");
    Ok(Some(Box::new(TpmKey::from_key_file_bytes(
        bytes, &input, &options,
    )?)))
}

/// True for a `TSS2 PRIVATE KEY` PEM (or the older `TSS2 KEY BLOB`), or the same structure in DER.
pub fn is_tpm_key_file(bytes: &[u8]) -> bool {
    let text_marker = |label: &str| {
        let marker = format!("-----BEGIN {label}-----");
        bytes.windows(marker.len()).any(|w| w == marker.as_bytes())
    };
    text_marker(TSS2_PEM_LABEL)
        || text_marker("TSS2 KEY BLOB")
        || keyfile::looks_like_der_tpm_key(bytes)
}

/// `0x81000101` (or without `0x`) → the handle, which must be a persistent one.
pub fn parse_persistent_handle(text: &str) -> Result<u32> {
    let digits = text
        .strip_prefix("0x")
        .or_else(|| text.strip_prefix("0X"))
        .unwrap_or(text);
    let handle = u32::from_str_radix(digits, 16).map_err(|_| {
        Error::invalid_argument(
            "--private-key",
            format!("handle:{text} is not a hexadecimal TPM handle; write e.g. handle:0x81000101"),
        )
    })?;
    if handle >> 24 != 0x81 {
        return Err(Error::invalid_argument(
            "--private-key",
            format!(
                "handle:{text} is not a persistent key handle; persistent handles are 0x81000000 to 0x81FFFFFF (see `tpm2_getcap handles-persistent`)"
            ),
        ));
    }
    Ok(handle)
}

/// Where the key's password came from, to say the right thing when the TPM rejects it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthOrigin {
    Flag,
    NoPasswordFlag,
    FileSaysEmpty,
    Typed,
    /// emptyAuth FALSE, no terminal, and a noDA key: a wrong guess costs no lockout count.
    EmptyGuessNoDa,
}

/// Where the key lives in the TPM.
enum Location {
    /// Loaded from a key file under its parent each time the TPM has lost it.
    Blob {
        parent: u32,
        public: Vec<u8>,
        private: Zeroizing<Vec<u8>>,
    },
    /// Persisted in the TPM; nothing to load or flush.
    Persistent(u32),
}

/// The signature scheme TPM2_Sign is asked for.
#[derive(Debug, Clone, Copy)]
struct Scheme {
    algorithm: u16,
    /// The hash the key's own scheme pins, if it pins one.
    fixed_hash: Option<u16>,
}

/// A key in a TPM, ready to sign; safe to share between threads (signatures are serialized).
pub struct TpmKey {
    input: String,
    public: PublicKey,
    scheme: Scheme,
    location: Location,
    password: Zeroizing<Vec<u8>>,
    auth_origin: AuthOrigin,
    state: Mutex<Connection>,
    loads: AtomicU64,
    primaries: AtomicU64,
}

/// The mutable part: the line to the TPM and what we have loaded in it.
struct Connection {
    target: Target,
    transport: Option<Transport>,
    /// The transient handle of our loaded key, flushed on drop.
    loaded_key: Option<u32>,
    /// Set after the TPM refused the password: never asked again, since each try counts toward
    /// dictionary-attack lockout.
    refused: Option<String>,
}

/// Why a TPM exchange failed, before it is turned into a user-facing error.
enum Failure {
    Open(String),
    Io(std::io::Error),
    Malformed(&'static str, String),
    Tpm(&'static str, ResponseCode),
}

impl Failure {
    /// Worth one rebuild-and-retry: the line dropped, or our objects are gone.
    fn calls_for_rebuild(&self) -> bool {
        match self {
            Failure::Io(_) => true,
            Failure::Tpm(_, code) => code.is_stale_object(),
            _ => false,
        }
    }
}

impl Connection {
    /// Sends one command; on success returns what follows the response header. Retries what
    /// the TPM asks to be retried (the command was not run, so no password was checked).
    fn execute(&mut self, name: &'static str, command: &[u8]) -> Result<Vec<u8>, Failure> {
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
    fn forget_lost_objects(&mut self, failure: &Failure) {
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

    fn flush(&mut self, handle: u32) -> Result<(), Failure> {
        let command = wire::command(wire::CC_FLUSH_CONTEXT, &[], None, &handle.to_be_bytes());
        self.execute("TPM2_FlushContext", &command).map(|_| ())
    }

    fn read_public(&mut self, handle: u32) -> Result<PublicArea, Failure> {
        let command = wire::command(wire::CC_READ_PUBLIC, &[handle], None, &[]);
        let body = self.execute("TPM2_ReadPublic", &command)?;
        let mut reader = wire::Reader::new(&body);
        let public = reader
            .tpm2b("outPublic")
            .map_err(|m| Failure::Malformed("TPM2_ReadPublic", m.0))?;
        wire::parse_public(public).map_err(|m| Failure::Malformed("TPM2_ReadPublic", m.0))
    }
}

impl TpmKey {
    /// Reads a `TSS2 PRIVATE KEY` file and loads the key into the TPM.
    pub fn from_key_file(path: &Path, options: &Options) -> Result<TpmKey> {
        let bytes = input_file::read_secret(path, "--private-key")?;
        Self::from_key_file_bytes(
            &bytes,
            &format!("--private-key {}", path.display()),
            options,
        )
    }

    /// Parses TPM key file bytes (PEM or DER) and loads the key; `input` names it in errors.
    pub fn from_key_file_bytes(bytes: &[u8], input: &str, options: &Options) -> Result<TpmKey> {
        let der = if input_file::looks_like_pem(bytes) {
            let blocks = input_file::pem_blocks(bytes, input)?;
            if blocks.iter().any(|b| b.tag == "TSS2 KEY BLOB") {
                return Err(Error::bad_input(
                    input,
                    "this is an old-style TSS2 KEY BLOB (tpm2-tss-engine 1.0); convert it to a TSS2 PRIVATE KEY, or create the key again with `openssl genpkey -provider tpm2`",
                ));
            }
            blocks
                .into_iter()
                .find(|b| b.tag == TSS2_PEM_LABEL)
                .map(|b| b.contents)
                .ok_or_else(|| Error::bad_input(input, "no TSS2 PRIVATE KEY block"))?
        } else {
            Zeroizing::new(bytes.to_vec())
        };
        let file = keyfile::parse(&der)
            .map_err(|why| Error::bad_input(input, format!("TPM key file: {why}")))?;
        if file.parent != wire::RH_OWNER && file.parent >> 24 != 0x81 {
            return Err(Error::bad_input(
                input,
                format!(
                    "the key's parent 0x{:08x} is neither the owner hierarchy (0x40000001) nor a persistent key (0x81…), which is all this helper loads under",
                    file.parent
                ),
            ));
        }
        let area = wire::parse_public_2b(&file.public)
            .map_err(|m| Error::bad_input(input, format!("TPM key file: public part: {}", m.0)))?;
        let (public, scheme) = usable_signing_key(&area, input)?;
        let target = choose_target(options, input)?;
        let (password, auth_origin) = resolve_password(options, file.empty_auth, &area, input)?;
        let key = TpmKey {
            input: input.to_string(),
            public,
            scheme,
            location: Location::Blob {
                parent: file.parent,
                public: file.public,
                private: file.private,
            },
            password,
            auth_origin,
            state: Mutex::new(Connection {
                target,
                transport: None,
                loaded_key: None,
                refused: None,
            }),
            loads: AtomicU64::new(0),
            primaries: AtomicU64::new(0),
        };
        // Load now: a key made for another TPM, or a missing parent, shows up before any network call.
        let loaded = {
            let mut connection = key.connection();
            let mut loaded = key.ensure_loaded(&mut connection);
            if let Err(failure) = &loaded
                && failure.calls_for_rebuild()
            {
                connection.forget_lost_objects(failure);
                loaded = key.ensure_loaded(&mut connection);
            }
            loaded
        };
        match loaded {
            Ok(_) => Ok(key),
            Err(failure) => Err(key.explain(failure)),
        }
    }

    /// A key persisted at `handle` (0x81…); its public area is read from the TPM.
    pub fn from_persistent_handle(handle: u32, input: &str, options: &Options) -> Result<TpmKey> {
        let mut connection = Connection {
            target: choose_target(options, input)?,
            transport: None,
            loaded_key: None,
            refused: None,
        };
        let area = match connection.read_public(handle) {
            Err(Failure::Tpm(_, code)) if code.base() == rc::HANDLE => {
                return Err(Error::bad_input(
                    input,
                    format!(
                        "no key is persisted at handle 0x{handle:08x} in the TPM at {} ({code}); list them with `tpm2_getcap handles-persistent`",
                        connection.target
                    ),
                ));
            }
            Err(failure) => return Err(explain_failure(failure, input, &connection.target)),
            Ok(area) => area,
        };
        let (public, scheme) = usable_signing_key(&area, input)?;
        let (password, auth_origin) = resolve_password(options, false, &area, input)?;
        Ok(TpmKey {
            input: input.to_string(),
            public,
            scheme,
            location: Location::Persistent(handle),
            password,
            auth_origin,
            state: Mutex::new(connection),
            loads: AtomicU64::new(0),
            primaries: AtomicU64::new(0),
        })
    }

    /// How many TPM2_Load commands this key has sent (one, unless the TPM lost the key).
    pub fn load_count(&self) -> u64 {
        self.loads.load(Ordering::Relaxed)
    }

    /// How many storage keys (TPM2_CreatePrimary) this key has created.
    pub fn primary_count(&self) -> u64 {
        self.primaries.load(Ordering::Relaxed)
    }

    fn connection(&self) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while signing leaves nothing half-done that matters: reuse the state.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The handle to sign with, loading the key first when the TPM does not hold it.
    fn ensure_loaded(&self, connection: &mut Connection) -> Result<u32, Failure> {
        let (parent, public, private) = match &self.location {
            Location::Persistent(handle) => return Ok(*handle),
            Location::Blob {
                parent,
                public,
                private,
            } => (*parent, public, private),
        };
        if let Some(handle) = connection.loaded_key {
            return Ok(handle);
        }
        let (parent_handle, created) = if parent == wire::RH_OWNER {
            (self.create_storage_key(connection)?, true)
        } else {
            (parent, false)
        };
        let mut parameters = Zeroizing::new(Vec::with_capacity(private.len() + public.len()));
        parameters.extend_from_slice(private);
        parameters.extend_from_slice(public);
        // The storage key has the empty password (it is the standard template's).
        let command = wire::command(wire::CC_LOAD, &[parent_handle], Some(b""), &parameters);
        let loaded = connection.execute("TPM2_Load", &command);
        if created {
            // The storage key is only needed to load: flushing it at once leaves one object slot
            // used instead of two. It is re-created only if the TPM ever loses our key.
            let _ = connection.flush(parent_handle);
        }
        let body = loaded?;
        self.loads.fetch_add(1, Ordering::Relaxed);
        let handle = wire::Reader::new(&body)
            .u32("objectHandle")
            .map_err(|m| Failure::Malformed("TPM2_Load", m.0))?;
        connection.loaded_key = Some(handle);
        Ok(handle)
    }

    /// TPM2_CreatePrimary of the standard storage key under the owner hierarchy.
    fn create_storage_key(&self, connection: &mut Connection) -> Result<u32, Failure> {
        let mut parameters = Vec::with_capacity(64);
        wire::tpm2b(&mut parameters, &[0, 0, 0, 0]); // inSensitive: empty userAuth and data
        wire::tpm2b(&mut parameters, &wire::OWNER_SRK_TEMPLATE);
        wire::tpm2b(&mut parameters, &[]); // outsideInfo
        parameters.extend_from_slice(&0u32.to_be_bytes()); // creationPCR: none
        let command = wire::command(
            wire::CC_CREATE_PRIMARY,
            &[wire::RH_OWNER],
            Some(b""),
            &parameters,
        );
        let body = connection.execute("TPM2_CreatePrimary", &command)?;
        self.primaries.fetch_add(1, Ordering::Relaxed);
        wire::Reader::new(&body)
            .u32("objectHandle")
            .map_err(|m| Failure::Malformed("TPM2_CreatePrimary", m.0))
    }

    /// One TPM2_Sign over `digest`, the signature returned in the form the `Signer` promises.
    fn sign_digest(
        &self,
        connection: &mut Connection,
        handle: u32,
        digest: &[u8],
        hash: u16,
    ) -> Result<Vec<u8>, Failure> {
        let mut parameters = Vec::with_capacity(digest.len() + 16);
        wire::tpm2b(&mut parameters, digest);
        parameters.extend_from_slice(&self.scheme.algorithm.to_be_bytes());
        parameters.extend_from_slice(&hash.to_be_bytes());
        // A NULL hashcheck ticket: allowed for keys that are not restricted.
        parameters.extend_from_slice(&wire::ST_HASHCHECK.to_be_bytes());
        parameters.extend_from_slice(&wire::RH_NULL.to_be_bytes());
        wire::tpm2b(&mut parameters, &[]);
        let command = wire::command(wire::CC_SIGN, &[handle], Some(&self.password), &parameters);
        let body = connection.execute("TPM2_Sign", &command)?;
        let malformed = |m: wire::Malformed| Failure::Malformed("TPM2_Sign", m.0);
        let mut reader = wire::Reader::new(&body);
        let _parameter_size = reader.u32("parameterSize").map_err(malformed)?;
        let algorithm = reader.u16("sigAlg").map_err(malformed)?;
        let _hash = reader.u16("hash").map_err(malformed)?;
        match algorithm {
            wire::ALG_ECDSA => {
                let r = reader.tpm2b("signatureR").map_err(malformed)?;
                let s = reader.tpm2b("signatureS").map_err(malformed)?;
                Ok(super::der::ecdsa_signature(r, s))
            }
            wire::ALG_RSASSA => Ok(reader.tpm2b("sig").map_err(malformed)?.to_vec()),
            other => Err(Failure::Malformed(
                "TPM2_Sign",
                format!("unexpected signature algorithm 0x{other:04x}"),
            )),
        }
    }

    /// The user-facing error for a failure, with what to do.
    fn explain(&self, failure: Failure) -> Error {
        let target = self.connection().target.clone();
        if let Failure::Tpm(command, code) = &failure {
            let parent = match &self.location {
                Location::Blob { parent, .. } => *parent,
                Location::Persistent(_) => 0,
            };
            if code.is_wrong_password() && *command == "TPM2_Sign" {
                let what_to_do = match self.auth_origin {
                    AuthOrigin::Flag => "check --tpm-key-password",
                    AuthOrigin::NoPasswordFlag => {
                        "the key has a password: pass --tpm-key-password instead of --no-tpm-key-password"
                    }
                    AuthOrigin::FileSaysEmpty => {
                        "the key file says the key has no password, yet the TPM wants one: pass --tpm-key-password"
                    }
                    AuthOrigin::Typed => "the password typed was wrong; run again",
                    AuthOrigin::EmptyGuessNoDa => {
                        "the key has a password and there was no terminal to ask for it: pass --tpm-key-password"
                    }
                };
                return Error::bad_input(
                    &self.input,
                    format!(
                        "the TPM rejected the key's password with {code}; not retried, since each wrong try counts toward the TPM's dictionary-attack lockout; {what_to_do}"
                    ),
                );
            }
            if code.is_wrong_password() {
                return Error::bad_input(
                    &self.input,
                    format!(
                        "{command}: the parent key (0x{parent:08x}) wants a password ({code}); parents with a password are not supported"
                    ),
                );
            }
            if *command == "TPM2_Load" && code.base() == rc::HANDLE {
                return Error::bad_input(
                    &self.input,
                    format!(
                        "the key's parent 0x{parent:08x} is not in the TPM at {target} ({code}): the key file was made for another TPM, or its parent key was removed; list persistent keys with `tpm2_getcap handles-persistent`"
                    ),
                );
            }
        }
        explain_failure(failure, &self.input, &target)
    }
}

/// The user-facing error for a failure that needs no knowledge of the key.
fn explain_failure(failure: Failure, input: &str, target: &Target) -> Error {
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

fn choose_target(options: &Options, input: &str) -> Result<Target> {
    Target::choose(options.device.as_deref()).map_err(|why| Error::bad_input(input, why))
}

/// Checks the key can make the signatures Roles Anywhere takes, and derives its public key.
fn usable_signing_key(area: &PublicArea, input: &str) -> Result<(PublicKey, Scheme)> {
    let refuse = |why: String| Err(Error::bad_input(input, why));
    if area.attributes & wire::ATTR_SIGN == 0 {
        let kind = if area.attributes & wire::ATTR_DECRYPT != 0 {
            "a decrypt-only key (no `sign` attribute)"
        } else {
            "a key without the `sign` attribute"
        };
        return refuse(format!(
            "this TPM key is {kind} and cannot sign; create it with the sign attribute (e.g. `openssl genpkey -provider tpm2`, or `tpm2_create -a sign|…`)"
        ));
    }
    if area.attributes & wire::ATTR_RESTRICTED != 0 {
        return refuse(
            "this TPM key is restricted (an attestation key) and signs only data the TPM made itself; use a non-restricted signing key".into(),
        );
    }
    if area.attributes & wire::ATTR_USER_WITH_AUTH == 0 {
        return refuse(
            "this TPM key can only be used through a policy session (userWithAuth is clear), which this helper does not support".into(),
        );
    }
    let (public, wanted) = match &area.key {
        KeyParameters::Ecc { curve, x, y } => {
            let (curve, field_len) = match *curve {
                wire::ECC_NIST_P256 => (Curve::P256, 32),
                wire::ECC_NIST_P384 => (Curve::P384, 48),
                wire::ECC_NIST_P521 => (Curve::P521, 66),
                other => {
                    return refuse(format!(
                        "this TPM key is on curve 0x{other:04x}; Roles Anywhere accepts NIST P-256, P-384 and P-521"
                    ));
                }
            };
            if x.len() > field_len || y.len() > field_len {
                return refuse("the TPM key's public point is malformed".into());
            }
            let mut point = Vec::with_capacity(1 + 2 * field_len);
            point.push(0x04);
            for coordinate in [x, y] {
                point.resize(point.len() + field_len - coordinate.len(), 0);
                point.extend_from_slice(coordinate);
            }
            (PublicKey::Ec { curve, point }, wire::ALG_ECDSA)
        }
        KeyParameters::Rsa { exponent, modulus } => {
            // An exponent of 0 in a TPM public area means the default, 65537.
            let exponent = if *exponent == 0 { 65537 } else { *exponent };
            let key = super::der::rsa_public_key(modulus, &exponent.to_be_bytes());
            if let PublicKey::Rsa { bits, .. } = &key
                && !(2048..=4096).contains(bits)
            {
                return refuse(format!(
                    "this TPM key is RSA {bits}; Roles Anywhere needs RSA 2048 to 4096"
                ));
            }
            (key, wire::ALG_RSASSA)
        }
    };
    let fixed_hash = match area.scheme {
        wire::ALG_NULL => None,
        scheme if scheme == wanted => Some(area.scheme_hash),
        other => {
            let needed = if wanted == wire::ALG_ECDSA {
                "ECDSA"
            } else {
                "RSASSA-PKCS1-v1_5"
            };
            return refuse(format!(
                "this TPM key is fixed to signature scheme 0x{other:04x}; Roles Anywhere needs {needed} (create the key with a NULL or {needed} scheme)"
            ));
        }
    };
    Ok((
        public,
        Scheme {
            algorithm: wanted,
            fixed_hash,
        },
    ))
}

/// The password to present: the flags, else the file's emptyAuth, else the terminal. With no
/// terminal, the empty password is tried only for a noDA key (a wrong try costs no lockout count).
fn resolve_password(
    options: &Options,
    file_says_empty: bool,
    area: &PublicArea,
    input: &str,
) -> Result<(Zeroizing<Vec<u8>>, AuthOrigin)> {
    let bytes = |s: &str| Zeroizing::new(s.as_bytes().to_vec());
    match &options.password {
        Password::Given(password) => return Ok((bytes(password), AuthOrigin::Flag)),
        Password::Empty => return Ok((Zeroizing::new(Vec::new()), AuthOrigin::NoPasswordFlag)),
        Password::Unspecified => {}
    }
    if file_says_empty {
        return Ok((Zeroizing::new(Vec::new()), AuthOrigin::FileSaysEmpty));
    }
    use std::io::IsTerminal as _;
    if std::io::stdin().is_terminal() {
        let prompt = format!("Password of the TPM key ({input}): ");
        if let Ok(typed) = rpassword::prompt_password(prompt) {
            let typed = Zeroizing::new(typed);
            return Ok((bytes(&typed), AuthOrigin::Typed));
        }
    }
    if area.attributes & wire::ATTR_NO_DA != 0 {
        return Ok((Zeroizing::new(Vec::new()), AuthOrigin::EmptyGuessNoDa));
    }
    Err(Error::bad_input(
        input,
        "the TPM key may have a password (its file does not say emptyAuth) and there is no terminal to ask for it; pass --tpm-key-password PASSWORD, or --no-tpm-key-password if it has none",
    ))
}

impl Signer for TpmKey {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn sign(&self, message: &[u8], digest: Digest) -> Result<Vec<u8>> {
        let hash = match digest {
            Digest::Sha256 => wire::ALG_SHA256,
            Digest::Sha384 => wire::ALG_SHA384,
            Digest::Sha512 => wire::ALG_SHA512,
        };
        if let Some(fixed) = self.scheme.fixed_hash
            && fixed != hash
        {
            return Err(Error::bad_input(
                &self.input,
                format!(
                    "this TPM key's scheme fixes the hash (algorithm 0x{fixed:04x}); it cannot sign a {digest:?} digest"
                ),
            ));
        }
        let hashed = digest.hash(message);
        let mut connection = self.connection();
        if let Some(why) = &connection.refused {
            return Err(Error::bad_input(&self.input, why.clone()));
        }
        let mut rebuilt = false;
        loop {
            let attempt = self
                .ensure_loaded(&mut connection)
                .and_then(|handle| self.sign_digest(&mut connection, handle, &hashed, hash));
            match attempt {
                Ok(signature) => return Ok(signature),
                Err(failure) if !rebuilt && failure.calls_for_rebuild() => {
                    rebuilt = true;
                    tracing::debug!(key = %self.input, "the TPM lost our key; loading it again");
                    connection.forget_lost_objects(&failure);
                }
                Err(failure) => {
                    let wrong_password = matches!(&failure, Failure::Tpm(_, code) if code.is_wrong_password() || code.base() == rc::LOCKOUT);
                    drop(connection);
                    let error = self.explain(failure);
                    if wrong_password {
                        let mut connection = self.connection();
                        connection.refused = Some(match &error {
                            Error::BadInput { problem, .. } => problem.clone(),
                            other => other.to_string(),
                        });
                    }
                    return Err(error);
                }
            }
        }
    }
}

impl Drop for TpmKey {
    fn drop(&mut self) {
        let connection = self
            .state
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(handle) = connection.loaded_key.take()
            && connection.transport.is_some()
        {
            // Without a resource manager nobody else frees the slot.
            let _ = connection.flush(handle);
        }
    }
}

impl std::fmt::Debug for TpmKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TpmKey({}, {})", self.input, self.public.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_must_be_persistent_and_hexadecimal() {
        assert_eq!(
            parse_persistent_handle("0x81000101").ok(),
            Some(0x8100_0101)
        );
        assert_eq!(parse_persistent_handle("81000001").ok(), Some(0x8100_0001));
        for bad in ["0x80000001", "0x40000001", "zz", "", "0x1810000011"] {
            let error = parse_persistent_handle(bad).err().map(|e| e.exit_code());
            assert_eq!(error, Some(2), "handle:{bad}");
        }
    }

    #[test]
    fn recognises_tpm_key_files_and_nothing_else() {
        assert!(is_tpm_key_file(
            b"-----BEGIN TSS2 PRIVATE KEY-----\nMAA=\n-----END TSS2 PRIVATE KEY-----\n"
        ));
        assert!(is_tpm_key_file(b"-----BEGIN TSS2 KEY BLOB-----\n"));
        assert!(!is_tpm_key_file(b"-----BEGIN PRIVATE KEY-----\nMAA=\n"));
        assert!(!is_tpm_key_file(&[0x30, 0x03, 0x02, 0x01, 0x00]));
    }
}
