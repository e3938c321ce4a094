//! The opt-in credential cache shared by short-lived `credential-process` runs: keyed by a hash
//! of every input that changes the answer, kept 0600 in a private directory, reused until 20
//! minutes before expiry, one CreateSession at a time across processes (a file lock), and a
//! corrupt, foreign or loosely permitted file never trusted.

use std::fs::OpenOptions;
use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use crate::credentials::{Credentials, parse_timestamp};
use crate::error::{Error, Result};
use crate::support::private_file::{FileLock, write_private_file};

/// The environment variable that turns the cache on (`1` or `true`), like `--cache`.
pub const ENABLE_VARIABLE: &str = "ROLESANYWHERE_HELPER_CACHE";
/// Cached credentials are used while at least this much of their life is left.
pub const MINIMUM_REMAINING: Duration = Duration::minutes(20);
/// The longest life a cached entry may have left: the longest session Roles Anywhere grants
/// (12 hours) and a margin for clock steps. An entry that claims more (the year 9999, say) was
/// not written by a CreateSession answer and is not trusted.
pub const MAXIMUM_REMAINING: Duration = Duration::minutes(12 * 60 + 15);
const FORMAT: u64 = 1;

/// True when the user asked for the cache (flag or environment).
pub fn enabled(flag: Option<bool>) -> bool {
    flag.unwrap_or_else(|| {
        std::env::var(ENABLE_VARIABLE)
            .is_ok_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"))
    })
}

/// `$XDG_RUNTIME_DIR/rolesanywhere-helper`, else `$XDG_CACHE_HOME` or `~/.cache`, then
/// `rolesanywhere-helper`.
pub fn default_directory() -> Result<PathBuf> {
    let base = std::env::var_os("XDG_RUNTIME_DIR")
        .filter(|v| !v.is_empty())
        .or_else(|| std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()))
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })
        .ok_or_else(|| {
            Error::bad_input(
                "credential cache",
                "neither XDG_RUNTIME_DIR, XDG_CACHE_HOME nor HOME is set",
            )
        })?;
    Ok(base.join("rolesanywhere-helper"))
}

/// A cache directory that belongs to this user and no one else.
pub struct Cache {
    directory: PathBuf,
}

impl Cache {
    /// Opens (creating 0700 if need be) the directory; refuses one that is a symlink, another
    /// user's, or open to others.
    pub fn open(directory: PathBuf) -> Result<Cache> {
        let input = format!("credential cache {}", directory.display());
        if let Some(parent) = directory.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::bad_input(&input, format!("cannot create: {e}")))?;
        }
        let mut builder = std::fs::DirBuilder::new();
        builder.mode(0o700);
        match builder.create(&directory) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::bad_input(&input, format!("cannot create: {e}"))),
        }
        let metadata = std::fs::symlink_metadata(&directory)
            .map_err(|e| Error::bad_input(&input, e.to_string()))?;
        if !metadata.is_dir() {
            return Err(Error::bad_input(
                &input,
                "is not a directory (a symlink?); remove it",
            ));
        }
        check_private(&metadata, &input)?;
        Ok(Cache { directory })
    }

    /// The cached credentials for `key` when still good, else the ones `fetch` gets (stored for
    /// the next run). Processes asking at once for the same key make one CreateSession.
    ///
    /// `lock_wait` is how long to wait for another process making that CreateSession: at least
    /// as long as one CreateSession may take with its retries, so a waiter reads the holder's
    /// result rather than giving up while the holder still works.
    pub fn get_or_fetch(
        &self,
        key: &[u8; 32],
        lock_wait: std::time::Duration,
        fetch: impl FnOnce() -> Result<Credentials>,
    ) -> Result<Credentials> {
        let name = hex::encode(key);
        let path = self.directory.join(format!("{name}.json"));
        let lock = FileLock::acquire(&self.directory.join(format!("{name}.lock")), lock_wait)?;
        if let Some(credentials) = self.read(&path, &name) {
            tracing::debug!(cache = %path.display(), "using cached credentials");
            return Ok(credentials);
        }
        let credentials = fetch()?;
        // A process killed mid-write left its temporary copy: removed under the same lock.
        crate::support::private_file::remove_stale_temp_files(&path);
        if let Err(problem) = self.write(&path, &name, &credentials) {
            tracing::warn!("not caching the credentials: {problem}");
        }
        drop(lock);
        Ok(credentials)
    }

    /// The cached credentials, if the file is ours, private, well-formed, for this key and
    /// good for at least [`MINIMUM_REMAINING`].
    fn read(&self, path: &Path, name: &str) -> Option<Credentials> {
        let mut file = match OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
        {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => {
                tracing::warn!("ignoring the cache file {}: {e}", path.display());
                return None;
            }
        };
        let metadata = file.metadata().ok()?;
        if let Err(problem) = check_private(&metadata, &format!("cache file {}", path.display())) {
            tracing::warn!("ignoring {problem}");
            return None;
        }
        let mut text = Zeroizing::new(Vec::new());
        file.read_to_end(&mut text).ok()?;
        match parse_entry(&text, name, OffsetDateTime::now_utc()) {
            Ok(credentials) => credentials,
            Err(problem) => {
                tracing::warn!("ignoring the cache file {}: {problem}", path.display());
                None
            }
        }
    }

    /// Writes the credentials atomically, 0600.
    fn write(&self, path: &Path, name: &str, credentials: &Credentials) -> Result<()> {
        let document = Zeroizing::new(
            serde_json::json!({
                "format": FORMAT,
                "key": name,
                "access_key_id": credentials.access_key_id,
                "secret_access_key": credentials.secret_access_key,
                "session_token": credentials.session_token,
                "expiration": crate::support::timestamp::iso8601(credentials.expiration),
            })
            .to_string(),
        );
        write_private_file(
            path,
            document.as_bytes(),
            &format!("cache file {}", path.display()),
        )
    }
}

/// Reads a cache file's text as of `now`: the credentials when they are still good (`None` when
/// too little of their life is left), or why the file is not to be trusted. Only an entry for
/// `name` in this format, holding what a CreateSession answer could have held, is read.
pub(crate) fn parse_entry(
    text: &[u8],
    name: &str,
    now: OffsetDateTime,
) -> std::result::Result<Option<Credentials>, String> {
    let document: serde_json::Value =
        serde_json::from_slice(text).map_err(|_| "it is corrupt".to_string())?;
    let field = |k: &str| document.get(k).and_then(|v| v.as_str());
    if document.get("format").and_then(|v| v.as_u64()) != Some(FORMAT) || field("key") != Some(name)
    {
        return Err("it is a foreign cache file".into());
    }
    let value = |k: &str| field(k).ok_or_else(|| format!("it has no {k}"));
    let expiration = value("expiration")?;
    let credentials = Credentials {
        access_key_id: value("access_key_id")?.to_string(),
        secret_access_key: value("secret_access_key")?.to_string(),
        session_token: value("session_token")?.to_string(),
        expiration: parse_timestamp(expiration)
            .ok_or_else(|| "its expiration is not a timestamp".to_string())?,
    };
    // Only what a CreateSession answer could have held is served: values from AWS's
    // alphabet (never empty), and a life no session has.
    crate::session::answer::check_values(
        &credentials.access_key_id,
        &credentials.secret_access_key,
        &credentials.session_token,
    )?;
    let remaining = credentials.expiration - now;
    if remaining > MAXIMUM_REMAINING {
        return Err("it expires later than any session can last".into());
    }
    Ok((remaining >= MINIMUM_REMAINING).then_some(credentials))
}

/// Refuses what another user owns or what others may read or write.
fn check_private(metadata: &std::fs::Metadata, input: &str) -> Result<()> {
    let me = rustix::process::geteuid().as_raw();
    if metadata.uid() != me {
        return Err(Error::bad_input(
            input,
            format!(
                "belongs to user {} (not this user, {me}); remove it",
                metadata.uid()
            ),
        ));
    }
    if metadata.permissions().mode() & 0o077 != 0 {
        return Err(Error::bad_input(
            input,
            format!(
                "is open to others (mode {:o}); it must be private to this user",
                metadata.permissions().mode() & 0o777
            ),
        ));
    }
    Ok(())
}
