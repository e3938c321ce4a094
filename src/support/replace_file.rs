//! Replacing a file someone else set up (a renewed certificate): atomically (temporary file in
//! the same directory, fsync, rename, fsync of the directory), with the old file's mode and
//! owner, and its previous contents kept beside it as `FILE.previous`.

use std::io::Write as _;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The mode and owner a replacement keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keep {
    /// Permission bits (no setuid, setgid or sticky bit).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
}

/// What `path` is now, as a replacement must keep it: a regular file (never a symbolic link,
/// which a rename would replace rather than follow) and its mode and owner.
pub fn inspect(path: &Path, input: &str) -> Result<Keep> {
    let metadata = std::fs::symlink_metadata(path)
        .map_err(|e| Error::bad_input(input, format!("cannot inspect: {e}")))?;
    if metadata.file_type().is_symlink() {
        return Err(Error::bad_input(
            input,
            "is a symbolic link; give the file it points to, which renewal replaces",
        ));
    }
    if !metadata.is_file() {
        return Err(Error::bad_input(input, "is not a regular file"));
    }
    Ok(Keep {
        mode: metadata.permissions().mode() & 0o777,
        uid: metadata.uid(),
        gid: metadata.gid(),
    })
}

/// `FILE.previous`: where the contents before a replacement are kept.
pub fn previous_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(".previous");
    PathBuf::from(name)
}

/// Replaces `path` with `contents`, keeping its mode and owner, after writing its current
/// contents `old` to `FILE.previous` (same mode and owner). Each write is atomic: a reader sees
/// the old file or the new one, never a part.
pub fn replace_keeping_previous(
    path: &Path,
    old: &[u8],
    contents: &[u8],
    input: &str,
) -> Result<()> {
    let keep = inspect(path, input)?;
    write_atomically(&previous_path(path), old, keep, input)?;
    write_atomically(path, contents, keep, input)
}

/// Writes `contents` to `path` through a temporary file with `keep`'s mode and owner, renamed
/// over it.
fn write_atomically(path: &Path, contents: &[u8], keep: Keep, input: &str) -> Result<()> {
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::bad_input(input, "is not a file path"))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(file_name);
    temp_name.push(format!(
        ".tmp-{}-{}",
        std::process::id(),
        hex::encode(crate::support::random::bytes(6)?)
    ));
    let temp = parent.join(temp_name);
    let written = (|| -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&temp)?;
        let metadata = file.metadata()?;
        if metadata.uid() != keep.uid || metadata.gid() != keep.gid {
            let uid = rustix::fs::Uid::from_raw(keep.uid);
            let gid = rustix::fs::Gid::from_raw(keep.gid);
            rustix::fs::fchown(&file, Some(uid), Some(gid))?;
        }
        // After the owner: chown clears setuid/setgid bits, and the mode is exact whatever the
        // umask.
        file.set_permissions(std::fs::Permissions::from_mode(keep.mode))?;
        file.write_all(contents)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        std::fs::File::open(&parent)?.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(Error::bad_input(
            input,
            format!(
                "cannot write {} with the mode and owner of the old file: {e}",
                path.display()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_replacement_keeps_the_mode_and_the_previous_contents() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cert.pem");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        replace_keeping_previous(&path, b"old", b"new", "--certificate").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"new");
        let previous = previous_path(&path);
        assert_eq!(previous.file_name().unwrap(), "cert.pem.previous");
        assert_eq!(std::fs::read(&previous).unwrap(), b"old");
        for file in [&path, &previous] {
            let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o640, "{}", file.display());
        }
        // No temporary file left behind.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn a_symbolic_link_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.pem");
        std::fs::write(&target, "old").unwrap();
        let link = dir.path().join("cert.pem");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let error = replace_keeping_previous(&link, b"old", b"new", "--certificate")
            .unwrap_err()
            .to_string();
        assert!(error.contains("symbolic link"), "{error}");
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        assert!(!previous_path(&link).exists());
    }
}
