//! Replacing a file someone else set up (a renewed certificate): atomically (temporary file in
//! the same directory, fsync, rename, fsync of the directory), with the old file's mode and
//! owner, and its previous contents kept beside it as `FILE.previous`.

use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use super::private_file::{Placement, parent_directory, write_through_temp_file};
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
    let placement = Placement {
        mode: keep.mode,
        owner: Some((keep.uid, keep.gid)),
        replace: true,
    };
    write_through_temp_file(
        path,
        parent_directory(path),
        contents,
        placement,
        input,
        |e| {
            Error::bad_input(
                input,
                format!(
                    "cannot write {} with the mode and owner of the old file: {e}",
                    path.display()
                ),
            )
        },
    )
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
