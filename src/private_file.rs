//! Files that hold secrets: created 0600 in a directory created 0700, written atomically
//! (temporary file, fsync, rename, fsync of the directory), and advisory locks (flock) so two
//! processes never interleave their writes.

use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::os::unix::io::AsRawFd as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// How long to wait for another process to release a lock.
const LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// An exclusive advisory lock (flock) on a file, released on drop.
pub struct FileLock {
    file: std::fs::File,
}

impl FileLock {
    /// Waits up to [`LOCK_TIMEOUT`] for the lock on `path` (created 0600 if missing).
    pub fn acquire(path: &Path) -> Result<FileLock> {
        let input = format!("lock file {}", path.display());
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|e| Error::bad_input(&input, format!("cannot open: {e}")))?;
        let started = Instant::now();
        loop {
            // SAFETY: flock on a descriptor this function owns; no memory is passed.
            let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if locked == 0 {
                return Ok(FileLock { file });
            }
            let error = std::io::Error::last_os_error();
            if error.kind() != std::io::ErrorKind::WouldBlock {
                return Err(Error::bad_input(&input, format!("cannot lock: {error}")));
            }
            if started.elapsed() > LOCK_TIMEOUT {
                return Err(Error::Unavailable(format!(
                    "{input}: another process has held the lock for {}s",
                    LOCK_TIMEOUT.as_secs()
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // SAFETY: as above; closing the file would release the lock anyway.
        unsafe { libc::flock(self.file.as_raw_fd(), libc::LOCK_UN) };
    }
}

/// Creates the directory holding `path` if missing, 0700 (it will hold secrets).
pub fn ensure_private_parent(path: &Path, input: &str) -> Result<PathBuf> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !parent.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&parent)
            .map_err(|e| {
                Error::bad_input(input, format!("cannot create {}: {e}", parent.display()))
            })?;
    }
    Ok(parent)
}

/// Writes a file that holds secrets: a new 0600 temporary file in the same directory, fsync,
/// rename over `path`, fsync the directory. Readers see the old or the new file, never a part.
pub fn write_private_file(path: &Path, contents: &[u8], input: &str) -> Result<()> {
    let parent = ensure_private_parent(path, input)?;
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::bad_input(input, "is not a file path"))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(file_name);
    temp_name.push(format!(
        ".tmp-{}-{}",
        std::process::id(),
        hex::encode(crate::random::bytes(6)?)
    ));
    let temp = parent.join(temp_name);
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        // The umask may have cleared bits, never added them; set exactly 0600 anyway.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        file.write_all(contents)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        // The rename is durable only once the directory is synced.
        std::fs::File::open(&parent)?.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(Error::bad_input(input, format!("cannot write: {e}")));
    }
    Ok(())
}
