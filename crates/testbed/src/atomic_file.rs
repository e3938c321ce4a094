//! Files other processes wait for (`--ready-file`, `--write-tls-ca`), written so that a reader
//! sees the whole file or none of it.

use std::path::Path;

use crate::error::{Error, Result};

/// Writes `contents` to `path` atomically: a temporary file in the same directory, then rename.
pub fn write_atomically(path: &Path, contents: &[u8], flag: &str) -> Result<()> {
    let input = format!("{flag} {}", path.display());
    let file_name = path
        .file_name()
        .ok_or_else(|| Error::bad_input(&input, "is not a file path"))?;
    let mut temp_name = std::ffi::OsString::from(".");
    temp_name.push(file_name);
    temp_name.push(format!(".tmp.{}", std::process::id()));
    let temp = path.with_file_name(temp_name);
    let written = std::fs::write(&temp, contents).and_then(|()| std::fs::rename(&temp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(Error::bad_input(&input, format!("cannot write: {e}")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_files_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ready");
        write_atomically(&path, b"https://127.0.0.1:1\n", "--ready-file").unwrap();
        write_atomically(&path, b"https://127.0.0.1:2\n", "--ready-file").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "https://127.0.0.1:2\n"
        );
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "no temporary file left behind"
        );
        assert!(write_atomically(&dir.path().join("missing/ready"), b"x", "--ready-file").is_err());
    }
}
