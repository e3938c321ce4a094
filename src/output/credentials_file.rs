//! The shared credentials file (`~/.aws/credentials`): sets one profile's keys under an advisory
//! lock and replaces the file atomically, keeping every other byte as it was.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::support::aws_files::{aws_file, section_name};
use crate::support::private_file::{
    FileLock, ensure_private_parent, remove_stale_temp_files, write_private_file,
};

/// The keys `update` owns in its section.
const KEYS: [&str; 3] = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
];

/// `AWS_SHARED_CREDENTIALS_FILE` when set, else `~/.aws/credentials`, as the SDKs resolve it.
pub fn default_path() -> Result<PathBuf> {
    aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials").ok_or_else(|| {
        Error::invalid_argument(
            "HOME",
            "is not set; set AWS_SHARED_CREDENTIALS_FILE to the credentials file's path",
        )
    })
}

/// Checks a profile name can be written as an INI section header.
pub fn check_profile_name(profile: &str) -> Result<()> {
    let valid = !profile.trim().is_empty()
        && profile.trim() == profile
        && !profile
            .chars()
            .any(|c| c == '[' || c == ']' || c.is_control());
    if valid {
        Ok(())
    } else {
        Err(Error::invalid_argument(
            "--profile",
            format!(
                "'{profile}' cannot be a section name (no brackets, control characters or surrounding spaces)"
            ),
        ))
    }
}

/// The key a `key = value` line sets, lowercased as the SDKs' INI parsers read it.
fn key_of(line: &str) -> Option<String> {
    let trimmed = line.trim_start();
    if trimmed.starts_with('#') || trimmed.starts_with(';') || trimmed.len() != line.len() {
        return None;
    }
    let (key, _) = line.split_once('=')?;
    Some(key.trim().to_ascii_lowercase())
}

/// `contents` with `[profile]` holding `credentials`: the three keys replaced in place (or added
/// after the section's last line), the section appended if missing, every other byte kept.
pub fn set_profile(contents: &str, profile: &str, credentials: &Credentials) -> Zeroizing<String> {
    let newline = if contents.contains("\r\n") {
        "\r\n"
    } else {
        "\n"
    };
    let values = [
        &credentials.access_key_id,
        &credentials.secret_access_key,
        &credentials.session_token,
    ];
    let assignment =
        |index: usize| Zeroizing::new(format!("{} = {}{newline}", KEYS[index], values[index]));
    let lines: Vec<&str> = contents.split_inclusive('\n').collect();
    let mut out = Zeroizing::new(String::with_capacity(contents.len() + 2048));
    let mut written = [false; 3];
    let mut in_target = false;
    let mut section_seen = false;
    // Indented lines after a replaced key continue its old value: dropped with it.
    let mut skipping_continuation = false;
    // Where the section's content ends (before trailing blank lines), to add missing keys.
    let mut insert_at: Option<usize> = None;
    for line in lines {
        if let Some(name) = section_name(line) {
            in_target = !section_seen && name == profile;
            section_seen |= in_target;
            skipping_continuation = false;
            out.push_str(line);
            if in_target {
                insert_at = Some(out.len());
            }
            continue;
        }
        if in_target {
            let is_continuation =
                !line.trim().is_empty() && line.starts_with([' ', '\t']) && key_of(line).is_none();
            if skipping_continuation && is_continuation {
                continue;
            }
            skipping_continuation = false;
            if let Some(key) = key_of(line)
                && let Some(index) = KEYS.iter().position(|k| *k == key)
            {
                // A repeated key: the first occurrence carries the value, later ones go.
                if !written[index] {
                    out.push_str(&assignment(index));
                    written[index] = true;
                }
                skipping_continuation = true;
                insert_at = Some(out.len());
                continue;
            }
            out.push_str(line);
            if !line.trim().is_empty() {
                insert_at = Some(out.len());
            }
            continue;
        }
        out.push_str(line);
    }
    let missing: Zeroizing<String> = Zeroizing::new(
        (0..3)
            .filter(|i| !written[*i])
            .map(|i| assignment(i).to_string())
            .collect(),
    );
    match insert_at {
        Some(at) => {
            // The section's last line may lack a newline at the end of the file.
            let mut addition = Zeroizing::new(String::new());
            if !missing.is_empty() && !out[..at].ends_with('\n') {
                addition.push_str(newline);
            }
            addition.push_str(&missing);
            out.insert_str(at, &addition);
        }
        None => {
            if !out.is_empty() && !out.ends_with('\n') {
                out.push_str(newline);
            }
            out.push_str(&format!("[{profile}]{newline}"));
            out.push_str(&missing);
        }
    }
    out
}

/// Sets `[profile]` in the credentials file at `path` to `credentials`, under the lock that
/// every `update` takes (`<path>.lock`), so concurrent updaters never lose each other's writes.
pub fn write_profile(path: &Path, profile: &str, credentials: &Credentials) -> Result<()> {
    let input = format!("credentials file {}", path.display());
    // A symlinked credentials file stays a symlink: the rename replaces its target.
    let resolved;
    let path = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => {
            resolved = std::fs::canonicalize(path)
                .map_err(|e| Error::bad_input(&input, format!("cannot follow the symlink: {e}")))?;
            resolved.as_path()
        }
        _ => path,
    };
    ensure_private_parent(path, &input)?;
    let mut lock_name = path.as_os_str().to_owned();
    lock_name.push(".lock");
    let _lock = FileLock::acquire(Path::new(&lock_name))?;
    // An updater killed mid-write left its temporary copy of the secrets: remove it now.
    remove_stale_temp_files(path);
    let current = match std::fs::read(path) {
        Ok(bytes) => Zeroizing::new(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Zeroizing::new(Vec::new()),
        Err(e) => return Err(Error::bad_input(&input, format!("cannot read: {e}"))),
    };
    let text = std::str::from_utf8(&current)
        .map_err(|_| Error::bad_input(&input, "is not UTF-8 text; fix or remove it"))?;
    let updated = set_profile(text, profile, credentials);
    write_private_file(path, updated.as_bytes(), &input)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn creds(id: &str) -> Credentials {
        Credentials {
            access_key_id: id.into(),
            secret_access_key: "SECRET".into(),
            session_token: "TOKEN".into(),
            expiration: time::macros::datetime!(2026-11-26 08:00:00 UTC),
        }
    }

    #[test]
    fn replaces_keys_in_place_and_keeps_everything_else() {
        let before = "# top comment\n\n[other]\naws_access_key_id = KEEP\n\n[edge]\nregion = us-east-1\n; note\naws_access_key_id=OLD\naws_secret_access_key = OLD\n  continued\naws_session_token = OLD\n\n[last]\nx = y";
        let after = set_profile(before, "edge", &creds("NEW"));
        assert_eq!(
            after.as_str(),
            "# top comment\n\n[other]\naws_access_key_id = KEEP\n\n[edge]\nregion = us-east-1\n; note\naws_access_key_id = NEW\naws_secret_access_key = SECRET\naws_session_token = TOKEN\n\n[last]\nx = y"
        );
    }

    #[test]
    fn adds_missing_keys_and_sections() {
        let after = set_profile("[edge]\nregion = x\n\n[b]\n", "edge", &creds("A"));
        assert_eq!(
            after.as_str(),
            "[edge]\nregion = x\naws_access_key_id = A\naws_secret_access_key = SECRET\naws_session_token = TOKEN\n\n[b]\n"
        );
        let after = set_profile("[b]\nk = v", "edge", &creds("A"));
        assert_eq!(
            after.as_str(),
            "[b]\nk = v\n[edge]\naws_access_key_id = A\naws_secret_access_key = SECRET\naws_session_token = TOKEN\n"
        );
        let after = set_profile("", "default", &creds("A"));
        assert!(after.starts_with("[default]\naws_access_key_id = A\n"));
        let crlf = set_profile("[b]\r\nk = v\r\n", "edge", &creds("A"));
        assert!(crlf.ends_with("[edge]\r\naws_access_key_id = A\r\naws_secret_access_key = SECRET\r\naws_session_token = TOKEN\r\n"));
        let last_line = set_profile("[edge]\nregion = x", "edge", &creds("A"));
        assert_eq!(
            last_line.as_str(),
            "[edge]\nregion = x\naws_access_key_id = A\naws_secret_access_key = SECRET\naws_session_token = TOKEN\n"
        );
    }

    #[test]
    fn profile_names_are_checked() {
        assert!(check_profile_name("default").is_ok());
        assert!(check_profile_name("a b").is_ok());
        for bad in ["", " x", "a]b", "a\nb"] {
            assert!(check_profile_name(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_symlinked_file_stays_a_symlink() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real-credentials");
        std::fs::write(&target, "[other]\nk = v\n").unwrap();
        let link = dir.path().join("credentials");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_profile(&link, "edge", &creds("A")).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        let text = std::fs::read_to_string(&target).unwrap();
        assert!(text.starts_with("[other]\nk = v\n[edge]\naws_access_key_id = A\n"));
    }

    #[test]
    fn writes_private_files_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new-dir").join("credentials");
        write_profile(&path, "edge", &creds("A")).unwrap();
        write_profile(&path, "other", &creds("B")).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("[edge]\naws_access_key_id = A\n"));
        assert!(text.contains("[other]\naws_access_key_id = B\n"));
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let dir_mode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}
