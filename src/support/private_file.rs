//! Files that hold secrets: created 0600 in a directory created 0700, written atomically
//! (temporary file, fsync, rename, fsync of the directory), and advisory locks (flock) so two
//! processes never interleave their writes.

use std::io::Write as _;
use std::os::unix::fs::{
    DirBuilderExt as _, MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _,
};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::fs::FlockOperation;
use rustix::io::Errno;
use rustix::process::{Pid, test_kill_process};

use crate::error::{Error, Result};

/// How long to wait for another process to release a lock when its holder only writes a file.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(10);

/// An exclusive advisory lock (flock) on a file, released on drop.
pub struct FileLock {
    file: std::fs::File,
}

impl FileLock {
    /// Waits up to `wait` for the lock on `path` (created 0600 if missing). A symlink at `path`
    /// is refused, never followed: a planted link must not make us create a file elsewhere.
    pub fn acquire(path: &Path, wait: Duration) -> Result<FileLock> {
        let input = format!("lock file {}", path.display());
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            // O_NONBLOCK: a FIFO planted at the path cannot make the open wait.
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK)
            .open(path)
            .map_err(|e| match e.raw_os_error() {
                Some(libc::ELOOP) => Error::bad_input(
                    &input,
                    "is a symbolic link, which a lock file never is; remove it",
                ),
                _ => Error::bad_input(&input, format!("cannot open: {e}")),
            })?;
        let metadata = file
            .metadata()
            .map_err(|e| Error::bad_input(&input, format!("cannot open: {e}")))?;
        if !metadata.is_file() {
            return Err(Error::bad_input(
                &input,
                "is not a regular file (a FIFO, device or directory?); remove it",
            ));
        }
        FileLock::wait_for(file, &input, wait, || {
            Error::Unavailable(format!(
                "{input}: another process has held the lock for {}s; if none is running, try again",
                wait.as_secs()
            ))
        })
    }

    /// Waits up to `wait` for the exclusive lock on `file`, already open; `busy` is the error
    /// when another process still holds it then.
    pub fn wait_for(
        file: std::fs::File,
        input: &str,
        wait: Duration,
        busy: impl FnOnce() -> Error,
    ) -> Result<FileLock> {
        let started = Instant::now();
        loop {
            match rustix::fs::flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => return Ok(FileLock { file }),
                Err(Errno::WOULDBLOCK) => {}
                Err(error) => {
                    return Err(Error::bad_input(input, format!("cannot lock: {error}")));
                }
            }
            if started.elapsed() > wait {
                return Err(busy());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // Closing the file would release the lock anyway.
        let _ = rustix::fs::flock(&self.file, FlockOperation::Unlock);
    }
}

/// Creates the directory holding `path` if missing, 0700 (it will hold secrets).
pub fn ensure_private_parent(path: &Path, input: &str) -> Result<PathBuf> {
    ensure_parent(path, input, 0o700)
}

/// Creates the directory holding `path` if missing, with `mode`.
fn ensure_parent(path: &Path, input: &str, mode: u32) -> Result<PathBuf> {
    let parent = parent_directory(path).to_path_buf();
    if !parent.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(mode)
            .create(&parent)
            .map_err(|e| {
                Error::bad_input(input, format!("cannot create {}: {e}", parent.display()))
            })?;
    }
    Ok(parent)
}

/// The directory `path` is in (`.` for a bare file name).
pub(crate) fn parent_directory(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Refuses a directory that would hold secrets when another user could change what is in it:
/// one owned by someone other than this user (or root), or writable by group or others. Such a
/// directory lets them swap the file, plant links or hold the lock.
pub fn check_directory(directory: &Path, what: &str) -> Result<()> {
    let input = format!("{what} {}", directory.display());
    let metadata = std::fs::metadata(directory)
        .map_err(|e| Error::bad_input(&input, format!("cannot inspect: {e}")))?;
    let me = rustix::process::geteuid().as_raw();
    if metadata.uid() != me && metadata.uid() != 0 {
        return Err(Error::bad_input(
            &input,
            format!(
                "belongs to user {} (not this user, {me}); use a directory of your own",
                metadata.uid()
            ),
        ));
    }
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & 0o022 != 0 {
        return Err(Error::bad_input(
            &input,
            format!(
                "is writable by other users (mode {:o}); run `chmod go-w {}` or use a private directory",
                mode & 0o777,
                directory.display()
            ),
        ));
    }
    Ok(())
}

/// The start of the names of `path`'s temporary files: `.<file name>.tmp-`. The whole name is
/// `.<file name>.tmp-<pid>-<12 hex digits>`: hidden, and never the file's own name.
fn temp_prefix(file_name: &std::ffi::OsStr) -> std::ffi::OsString {
    let mut prefix = std::ffi::OsString::from(".");
    prefix.push(file_name);
    prefix.push(".tmp-");
    prefix
}

/// True when no process has this id (in our PID namespace).
fn process_is_gone(pid: libc::pid_t) -> bool {
    // Signal 0 only checks that the process exists; nothing is sent.
    Pid::from_raw(pid).is_some_and(|pid| test_kill_process(pid) == Err(Errno::SRCH))
}

/// Removes the temporary files that writers of `path` killed between creating one and renaming
/// it left behind (SIGKILL, OOM kill, power loss: nothing runs to clean up). Each holds a whole
/// copy of the secrets, so they must not pile up. Call it only while holding the lock every
/// writer of `path` takes: no writer is then between create and rename, and a file is removed
/// only when the process named in it is gone as well (a live writer that ignores the lock keeps
/// its file). Failures are ignored: the next write tries again.
pub fn remove_stale_temp_files(path: &Path) {
    let Some(file_name) = path.file_name() else {
        return;
    };
    let parent = parent_directory(path);
    let prefix = temp_prefix(file_name);
    let prefix = prefix.as_encoded_bytes();
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.as_encoded_bytes().strip_prefix(prefix) else {
            continue;
        };
        // `<pid>-<12 hex digits>`, exactly as write_private_file names them.
        let Some((pid, random)) = std::str::from_utf8(rest)
            .ok()
            .and_then(|r| r.split_once('-'))
        else {
            continue;
        };
        let pid = match pid.parse::<libc::pid_t>() {
            Ok(pid) if pid > 0 && random.len() == 12 => pid,
            _ => continue,
        };
        if !random.bytes().all(|b| b.is_ascii_hexdigit())
            || pid == std::process::id() as libc::pid_t
            || !process_is_gone(pid)
        {
            continue;
        }
        match std::fs::remove_file(entry.path()) {
            Ok(()) => tracing::debug!(
                "removed {}, left by a writer that was killed",
                entry.path().display()
            ),
            Err(e) => tracing::debug!("cannot remove {}: {e}", entry.path().display()),
        }
    }
}

/// Writes a file that holds secrets: a new 0600 temporary file in the same directory, fsync,
/// rename over `path`, fsync the directory. Readers see the old or the new file, never a part.
/// A writer killed between create and rename leaves its temporary file (hidden, never named
/// like `path`); [`remove_stale_temp_files`] clears those under the writers' lock.
pub fn write_private_file(path: &Path, contents: &[u8], input: &str) -> Result<()> {
    write_file_with_mode(path, contents, input, 0o600)
}

/// As [`write_private_file`], with the file's `mode` (at most 0770: a secret is never given to
/// others). A missing parent directory is created 0700, or 0750 when the group may read the file.
pub fn write_file_with_mode(path: &Path, contents: &[u8], input: &str, mode: u32) -> Result<()> {
    write_file(path, contents, input, mode, true)
}

/// As [`write_private_file`] (0600, complete or absent), for a file that must not exist yet: an
/// existing `path` (a symlink included) is an error and is left as it was. The new file appears
/// by a hard link, which never replaces anything, so two writers cannot both succeed.
pub fn write_new_private_file(path: &Path, contents: &[u8], input: &str) -> Result<()> {
    write_file(path, contents, input, 0o600, false)
}

fn write_file(path: &Path, contents: &[u8], input: &str, mode: u32, replace: bool) -> Result<()> {
    if !replace {
        refuse_existing(path, input)?;
    }
    if mode & !0o770 != 0 {
        return Err(Error::Internal(format!(
            "file mode {mode:04o} gives others access"
        )));
    }
    let directory_mode = if mode & 0o040 != 0 { 0o750 } else { 0o700 };
    let parent = ensure_parent(path, input, directory_mode)?;
    let placement = Placement {
        mode,
        owner: None,
        replace,
    };
    write_through_temp_file(path, &parent, contents, placement, input, |e| {
        if !replace && e.kind() == std::io::ErrorKind::AlreadyExists {
            return exists(input);
        }
        Error::bad_input(input, format!("cannot write: {e}"))
    })
}

/// How [`write_through_temp_file`] leaves the file.
pub(crate) struct Placement {
    /// Its exact permission bits, whatever the umask.
    pub(crate) mode: u32,
    /// Its owner and group, when not this process's.
    pub(crate) owner: Option<(u32, u32)>,
    /// Replace `path` (a rename); else `path` must not exist (a hard link, which never
    /// replaces anything).
    pub(crate) replace: bool,
}

/// Writes `contents` to `path` in `parent` through a new temporary file beside it, named
/// `.<file name>.tmp-<pid>-<12 hex digits>` (what [`remove_stale_temp_files`] clears): owner and
/// mode set before the contents go in, fsync, into place, fsync of the directory. Readers see
/// the old file or the new one, never a part. On failure the temporary file is removed and
/// `failed` turns the I/O error into the caller's.
pub(crate) fn write_through_temp_file(
    path: &Path,
    parent: &Path,
    contents: &[u8],
    placement: Placement,
    input: &str,
    failed: impl FnOnce(std::io::Error) -> Error,
) -> Result<()> {
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::bad_input(input, "is not a file path"))?;
    let mut temp_name = temp_prefix(file_name);
    temp_name.push(format!(
        "{}-{}",
        std::process::id(),
        hex::encode(crate::support::random::bytes(6)?)
    ));
    let temp = parent.join(temp_name);
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&temp)?;
        if let Some((uid, gid)) = placement.owner {
            let metadata = file.metadata()?;
            if metadata.uid() != uid || metadata.gid() != gid {
                let uid = rustix::fs::Uid::from_raw(uid);
                let gid = rustix::fs::Gid::from_raw(gid);
                rustix::fs::fchown(&file, Some(uid), Some(gid))?;
            }
        }
        // After the owner: chown clears setuid/setgid bits. The umask may have cleared bits,
        // never added them; the mode is set exactly anyway, and only once the file is ours, so
        // it is never more open while it is being made.
        file.set_permissions(std::fs::Permissions::from_mode(placement.mode))?;
        file.write_all(contents)?;
        file.sync_all()?;
        if placement.replace {
            std::fs::rename(&temp, path)?;
        } else {
            std::fs::hard_link(&temp, path)?;
            std::fs::remove_file(&temp)?;
        }
        // The rename is durable only once the directory is synced.
        std::fs::File::open(parent)?.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(failed(e));
    }
    Ok(())
}

/// Fails when `path` exists (a symlink included): for a file that is never overwritten, checked
/// before any work is done for it.
pub fn refuse_existing(path: &Path, input: &str) -> Result<()> {
    if std::fs::symlink_metadata(path).is_ok() {
        return Err(exists(input));
    }
    Ok(())
}

fn exists(input: &str) -> Error {
    Error::bad_input(
        input,
        "already exists; it is never overwritten: give another path, or move the file away first",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_file_that_is_a_symlink_is_refused_and_its_target_never_created() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        let lock = dir.path().join("x.lock");
        std::os::unix::fs::symlink(&target, &lock).unwrap();
        let error = FileLock::acquire(&lock, Duration::from_secs(1))
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("symbolic link"), "{error}");
        assert!(!target.exists());
        // A regular lock file is fine, and its lock is exclusive until dropped.
        let plain = dir.path().join("y.lock");
        let held = FileLock::acquire(&plain, Duration::from_secs(1)).unwrap();
        let waited = Instant::now();
        assert!(FileLock::acquire(&plain, Duration::from_millis(100)).is_err());
        assert!(waited.elapsed() >= Duration::from_millis(100));
        drop(held);
        assert!(FileLock::acquire(&plain, Duration::from_millis(100)).is_ok());
    }

    #[test]
    fn directories_others_can_write_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(check_directory(dir.path(), "directory").is_ok());
        for mode in [0o777, 0o775, 0o1777] {
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(mode)).unwrap();
            let error = check_directory(dir.path(), "directory")
                .unwrap_err()
                .to_string();
            assert!(error.contains("writable by other users"), "{error}");
            assert!(error.contains("chmod go-w"), "{error}");
        }
    }

    #[test]
    fn only_temporary_files_of_gone_writers_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials");
        std::fs::write(&path, "kept").unwrap();
        // A process id that was just in use and is gone now.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let gone = child.id();
        child.wait().unwrap();
        let live = std::process::id();
        let names = [
            (format!(".credentials.tmp-{gone}-0123456789ab"), false),
            (format!(".credentials.tmp-{live}-0123456789ab"), true),
            // PID 1 always exists.
            (".credentials.tmp-1-0123456789ab".to_string(), true),
            (format!(".credentials.tmp-{gone}-notours"), true),
            (format!(".other.tmp-{gone}-0123456789ab"), true),
        ];
        for (name, _) in &names {
            std::fs::write(dir.path().join(name), "secret").unwrap();
        }
        remove_stale_temp_files(&path);
        for (name, kept) in &names {
            assert_eq!(dir.path().join(name).exists(), *kept, "{name}");
        }
        assert!(path.exists());
    }
}
