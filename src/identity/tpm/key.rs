//! The TPM key: loaded from a key file under its parent or found at a persistent handle, kept
//! loaded across signatures, rebuilt once when a reset or a dropped line loses it, flushed on drop.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use zeroize::Zeroizing;

use super::auth::{self, AuthOrigin, resolve_password};
use super::connection::{Connection, Failure, choose_target, explain_failure};
use super::scheme::{self, Scheme, usable_signing_key};
use super::{Options, TSS2_PEM_LABEL, keyfile, rc, wire};
use crate::error::{Error, Result};
use crate::identity::{Digest, PublicKey, Signer};
use crate::support::input_file;

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
    pub(crate) fn from_key_file_bytes(
        bytes: &[u8],
        input: &str,
        options: &Options,
    ) -> Result<TpmKey> {
        let (file, area, public, scheme) = parse_key_file(bytes, input)?;
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
            state: Mutex::new(Connection::new(target)),
            loads: AtomicU64::new(0),
            primaries: AtomicU64::new(0),
        };
        // Load now: a key made for another TPM, or a missing parent, shows up before any network call.
        let loaded = {
            let mut connection = key.connection();
            key.with_one_rebuild(&mut connection, |connection| key.ensure_loaded(connection))
        };
        match loaded {
            Ok(_) => Ok(key),
            Err(failure) => Err(key.explain(failure)),
        }
    }

    /// A key persisted at `handle` (0x81…); its public area is read from the TPM.
    pub fn from_persistent_handle(handle: u32, input: &str, options: &Options) -> Result<TpmKey> {
        let mut connection = Connection::new(choose_target(options, input)?);
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

    /// Runs `attempt`, and once more after forgetting what the TPM lost when it failed because
    /// the line dropped or our objects are gone (a TPM reset, a restart, an eviction).
    fn with_one_rebuild<T>(
        &self,
        connection: &mut Connection,
        mut attempt: impl FnMut(&mut Connection) -> Result<T, Failure>,
    ) -> Result<T, Failure> {
        match attempt(connection) {
            Err(failure) if failure.calls_for_rebuild() => {
                tracing::debug!(key = %self.input, "the TPM lost our key; loading it again");
                connection.forget_lost_objects(&failure);
                attempt(connection)
            }
            other => other,
        }
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

    /// TPM2_CreatePrimary of the standard storage key, counted.
    fn create_storage_key(&self, connection: &mut Connection) -> Result<u32, Failure> {
        let handle = create_owner_storage_key(connection)?;
        self.primaries.fetch_add(1, Ordering::Relaxed);
        Ok(handle)
    }

    /// One TPM2_Sign over `digest`, the signature returned in the form the `Signer` promises.
    fn sign_digest(
        &self,
        connection: &mut Connection,
        handle: u32,
        digest: &[u8],
        hash: u16,
    ) -> Result<Vec<u8>, Failure> {
        let parameters = self.scheme.sign_parameters(digest, hash);
        let command = wire::command(wire::CC_SIGN, &[handle], Some(&self.password), &parameters);
        let body = connection.execute("TPM2_Sign", &command)?;
        scheme::signature_from_response(&body)
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
                return auth::wrong_password(&self.input, *code, self.auth_origin);
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

impl Signer for TpmKey {
    fn public_key(&self) -> &PublicKey {
        &self.public
    }

    fn sign(&self, message: &[u8], digest: Digest) -> Result<Vec<u8>> {
        let hash = self.scheme.hash_for(digest, &self.input)?;
        let hashed = digest.hash(message);
        let mut connection = self.connection();
        if let Some(why) = &connection.refused {
            return Err(Error::bad_input(&self.input, why.clone()));
        }
        let signed = self.with_one_rebuild(&mut connection, |connection| {
            let handle = self.ensure_loaded(connection)?;
            self.sign_digest(connection, handle, &hashed, hash)
        });
        let failure = match signed {
            Ok(signature) => return Ok(signature),
            Err(failure) => failure,
        };
        let ends_tries = auth::ends_tries(&failure);
        drop(connection);
        let error = self.explain(failure);
        if ends_tries {
            self.connection().refused = Some(auth::refusal(&error));
        }
        Err(error)
    }
}

impl Drop for TpmKey {
    fn drop(&mut self) {
        let connection = self
            .state
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Without a resource manager nobody else frees the slot.
        connection.flush_loaded_key();
    }
}

impl std::fmt::Debug for TpmKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TpmKey({}, {})", self.input, self.public.describe())
    }
}

/// What a TPM key file (PEM or DER) says, checked before any TPM is spoken to: the file, its
/// public area, the public key and the signature scheme. `input` names the file in errors.
pub(crate) fn parse_key_file(
    bytes: &[u8],
    input: &str,
) -> Result<(keyfile::TpmKeyFile, wire::PublicArea, PublicKey, Scheme)> {
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
    Ok((file, area, public, scheme))
}

/// TPM2_CreatePrimary of the standard storage key (`OWNER_SRK_TEMPLATE`) under the owner
/// hierarchy: the parent of keys whose file names no persistent parent, and of new keys when
/// the TPM has no SRK at `0x81000001`.
pub(super) fn create_owner_storage_key(connection: &mut Connection) -> Result<u32, Failure> {
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
    wire::Reader::new(&body)
        .u32("objectHandle")
        .map_err(|m| Failure::Malformed("TPM2_CreatePrimary", m.0))
}
