//! The shared credentials file (`~/.aws/credentials`): sets one profile's keys under an advisory
//! lock and replaces the file atomically, keeping every other byte as it was.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::credentials::Credentials;
use crate::error::{Error, Result};
use crate::support::aws_files::{aws_file, check_section_name, section_name};
use crate::support::private_file::{
    FileLock, LOCK_TIMEOUT, check_directory, ensure_private_parent, remove_stale_temp_files,
    write_private_file,
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
    check_section_name("--profile", profile)
}

/// Checks each credential value can be one INI `key = value` line that reads back as itself:
/// not empty, no control character (a CR or LF would end the line and start another, a section
/// header even), no surrounding spaces (the SDKs' parsers trim them). Credentials that passed
/// the answer's checks always can; this writer refuses whatever else it is given. The error
/// names the key, never the value.
pub fn check_values(credentials: &Credentials) -> Result<()> {
    let values = [
        &credentials.access_key_id,
        &credentials.secret_access_key,
        &credentials.session_token,
    ];
    for (key, value) in KEYS.iter().zip(values) {
        if value.is_empty() || value.trim() != value.as_str() || value.chars().any(char::is_control)
        {
            return Err(Error::Unavailable(format!(
                "the credentials' {key} cannot be written as an INI value (empty, control characters or surrounding spaces); nothing was written"
            )));
        }
    }
    Ok(())
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

/// The file's own line ending: the first one it uses (CRLF, LF, or a bare CR as the SDKs'
/// universal-newline readers accept), LF for a file with none. A file that starts with bare CRs
/// but has LFs too gets LF: a written CR followed by one of its LFs would read as one CRLF,
/// and a line of the file would disappear.
fn line_ending(contents: &str) -> &'static str {
    match contents.find(['\r', '\n']) {
        Some(at) if contents[at..].starts_with("\r\n") => "\r\n",
        Some(at) if contents[at..].starts_with('\r') && !contents.contains('\n') => "\r",
        _ => "\n",
    }
}

/// The lines of `contents`, each with its terminator (CRLF, LF or a bare CR).
fn lines_inclusive(contents: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut rest = contents;
    while !rest.is_empty() {
        let end = match rest.find(['\r', '\n']) {
            Some(at) if rest[at..].starts_with("\r\n") => at + 2,
            Some(at) => at + 1,
            None => rest.len(),
        };
        let (line, tail) = rest.split_at(end);
        lines.push(line);
        rest = tail;
    }
    lines
}

/// True when `text` ends with a line terminator.
fn ends_a_line(text: &str) -> bool {
    text.ends_with(['\n', '\r'])
}

/// `contents` with `[profile]` holding `credentials`: the three keys replaced in place (or added
/// after the section's last line), the section appended if missing, every other byte kept.
/// Lines written use the file's own line ending.
pub fn set_profile(contents: &str, profile: &str, credentials: &Credentials) -> Zeroizing<String> {
    let newline = line_ending(contents);
    // A CRLF file cut after its last CR: the LF completes that line ending, so the file does
    // not gain a bare CR among its CRLFs.
    let completed;
    let contents = if newline == "\r\n" && contents.ends_with('\r') {
        completed = Zeroizing::new(format!("{contents}\n"));
        completed.as_str()
    } else {
        contents
    };
    let values = [
        &credentials.access_key_id,
        &credentials.secret_access_key,
        &credentials.session_token,
    ];
    let assignment =
        |index: usize| Zeroizing::new(format!("{} = {}{newline}", KEYS[index], values[index]));
    let lines = lines_inclusive(contents);
    let mut out = Zeroizing::new(String::with_capacity(contents.len() + 2048));
    let mut written = [false; 3];
    // A section repeated further down is the same profile to the SDKs (aws-sdk-rust merges
    // them, the last value winning): its keys are replaced too, and missing keys go to the first.
    let mut written_here = [false; 3];
    let mut in_target = false;
    let mut in_first = false;
    let mut section_seen = false;
    // Indented lines after a replaced key continue its old value: dropped with it. Blank and
    // comment lines do not end a value (Python's configparser, as botocore reads the file, goes
    // on reading it after them): they are kept, and the dropping goes on after them.
    let mut skipping_continuation = false;
    // Where the section's content ends (before trailing blank lines), to add missing keys.
    let mut insert_at: Option<usize> = None;
    for line in lines {
        if let Some(name) = section_name(line) {
            in_target = name == profile;
            in_first = in_target && !section_seen;
            section_seen |= in_target;
            written_here = [false; 3];
            skipping_continuation = false;
            out.push_str(line);
            if in_first {
                insert_at = Some(out.len());
            }
            continue;
        }
        if in_target {
            let trimmed = line.trim();
            let is_blank_or_comment =
                trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';');
            let is_continuation = !is_blank_or_comment
                && line.starts_with(char::is_whitespace)
                && key_of(line).is_none();
            if skipping_continuation && is_continuation {
                continue;
            }
            if skipping_continuation && is_blank_or_comment {
                out.push_str(line);
                continue;
            }
            skipping_continuation = false;
            if let Some(key) = key_of(line)
                && let Some(index) = KEYS.iter().position(|k| *k == key)
            {
                // A repeated key: the first occurrence carries the value, later ones go.
                if !written_here[index] {
                    out.push_str(&assignment(index));
                    written_here[index] = true;
                    written[index] = true;
                }
                skipping_continuation = true;
                if in_first {
                    insert_at = Some(out.len());
                }
                continue;
            }
            out.push_str(line);
            if in_first && !line.trim().is_empty() {
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
            if !missing.is_empty() && !ends_a_line(&out[..at]) {
                addition.push_str(newline);
            }
            addition.push_str(&missing);
            out.insert_str(at, &addition);
        }
        None => {
            if !out.is_empty() && !ends_a_line(&out) {
                out.push_str(newline);
            }
            out.push_str(&format!("[{profile}]{newline}"));
            out.push_str(&missing);
        }
    }
    // Dropping an old value's continuation can leave a bare CR at the end of a CRLF file: it is
    // completed here as it would be on the next run, so a second run changes nothing.
    if newline == "\r\n" && out.ends_with('\r') {
        out.push('\n');
    }
    out
}

/// Sets `[profile]` in the credentials file at `path` to `credentials`, under the lock that
/// every `update` takes (`<path>.lock`), so concurrent updaters never lose each other's writes.
pub fn write_profile(path: &Path, profile: &str, credentials: &Credentials) -> Result<()> {
    check_profile_name(profile)?;
    check_values(credentials)?;
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
    let parent = ensure_private_parent(path, &input)?;
    // Checked like the cache's directory: in a directory others can write, they could swap the
    // file, plant links or hold the lock.
    check_directory(&parent, "the credentials file's directory")?;
    let mut lock_name = path.as_os_str().to_owned();
    lock_name.push(".lock");
    let _lock = FileLock::acquire(Path::new(&lock_name), LOCK_TIMEOUT)?;
    // An updater killed mid-write left its temporary copy of the secrets: remove it now.
    remove_stale_temp_files(path);
    let current = read_current(path, &input)?;
    let text = std::str::from_utf8(&current)
        .map_err(|_| Error::bad_input(&input, "is not UTF-8 text; fix or remove it"))?;
    let updated = set_profile(text, profile, credentials);
    write_private_file(path, updated.as_bytes(), &input)
}

/// The largest credentials file read: far beyond any real one, and a bound on the memory a
/// wrong path (a device, a huge file) can take.
const MAX_FILE_SIZE: u64 = 16 * 1024 * 1024;

/// The credentials file as it is (empty when missing). Only a regular file is read: a FIFO or a
/// device at the path would make the read wait forever, with the lock held.
fn read_current(path: &Path, input: &str) -> Result<Zeroizing<Vec<u8>>> {
    use std::io::Read as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = match std::fs::OpenOptions::new()
        .read(true)
        // Opening a FIFO without O_NONBLOCK waits for a writer.
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Zeroizing::new(Vec::new()));
        }
        Err(e) => return Err(Error::bad_input(input, format!("cannot read: {e}"))),
    };
    let metadata = file
        .metadata()
        .map_err(|e| Error::bad_input(input, format!("cannot read: {e}")))?;
    if !metadata.is_file() {
        return Err(Error::bad_input(
            input,
            "is not a regular file (a FIFO, device or directory); point AWS_SHARED_CREDENTIALS_FILE at a file",
        ));
    }
    if metadata.len() > MAX_FILE_SIZE {
        return Err(Error::bad_input(
            input,
            format!(
                "is larger than {} MiB, more than any credentials file; check the path",
                MAX_FILE_SIZE / (1024 * 1024)
            ),
        ));
    }
    let mut bytes = Zeroizing::new(Vec::new());
    file.by_ref()
        .take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::bad_input(input, format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(Error::bad_input(input, "grew while being read; try again"));
    }
    Ok(bytes)
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

    /// A file that ends in a bare CR keeps its own line ending: CRLF files are completed, CR-only
    /// files get CR lines, and a second run mixes nothing in either.
    #[test]
    fn keeps_the_files_own_line_ending_when_it_ends_in_a_bare_cr() {
        for (before, ending) in [("[b]\r\nk = v\r", "\r\n"), ("[b]\rk = v\r", "\r")] {
            let once = set_profile(before, "edge", &creds("A"));
            let twice = set_profile(&once, "edge", &creds("B"));
            let thrice = set_profile(&twice, "other", &creds("C"));
            for text in [&once, &twice, &thrice] {
                let lines = lines_inclusive(text);
                assert!(
                    lines.iter().all(|l| l.ends_with(ending)),
                    "{before:?} gave {:?}",
                    text.as_str()
                );
                assert!(text.starts_with(before), "{:?}", text.as_str());
            }
            assert!(twice.contains(&format!("aws_access_key_id = B{ending}")));
            assert!(!twice.contains("= A"));
        }
        assert_eq!(line_ending("a\nb\r\n"), "\n");
        assert_eq!(line_ending(""), "\n");
    }

    /// Found by the credentials_file fuzz target: in a file that starts with a bare CR and has
    /// LFs too, a written CR followed by the file's LF read as one CRLF, so a blank line vanished
    /// and a second run changed the file again.
    #[test]
    fn a_file_mixing_bare_crs_and_lfs_keeps_every_line_and_a_second_run_changes_nothing() {
        let before = "\r[default]\nregion = x\n\n ";
        let once = set_profile(before, "default", &creds("A"));
        assert_eq!(
            once.as_str(),
            "\r[default]\nregion = x\naws_access_key_id = A\naws_secret_access_key = SECRET\naws_session_token = TOKEN\n\n "
        );
        let twice = set_profile(&once, "default", &creds("A"));
        assert_eq!(twice.as_str(), once.as_str());
    }

    /// Found by the credentials_file fuzz target: an indented line after a blank or a comment
    /// line still continues the old value for botocore (Python's configparser), so it goes with
    /// the value; the blank and comment lines stay.
    #[test]
    fn an_old_value_continued_after_a_blank_or_comment_line_is_replaced_whole() {
        let before =
            "[default]\naws_session_token = OLD\n\n  more = OLD\n# note\n  more\n\nregion = x\n";
        let after = set_profile(before, "default", &creds("A"));
        assert_eq!(
            after.as_str(),
            "[default]\naws_session_token = TOKEN\n\n# note\n\nregion = x\naws_access_key_id = A\naws_secret_access_key = SECRET\n"
        );
    }

    /// Found by the credentials_file fuzz target: the dropped " more" line exposed the CR
    /// before it as the file's end, and the next run added an LF.
    #[test]
    fn a_crlf_file_left_ending_in_a_bare_cr_by_a_dropped_continuation_is_completed_once() {
        let before = "[edge]\r\naws_access_key_id = X\n \r\r more\n";
        let once = set_profile(before, "edge", &creds("A"));
        assert_eq!(
            once.as_str(),
            "[edge]\r\naws_access_key_id = A\r\naws_secret_access_key = SECRET\r\naws_session_token = TOKEN\r\n \r\r\n"
        );
        let twice = set_profile(&once, "edge", &creds("A"));
        assert_eq!(twice.as_str(), once.as_str());
    }

    /// Found by the credentials_file fuzz target: a profile's section repeated further down
    /// kept its old keys, which SDKs that merge repeated sections read last.
    #[test]
    fn a_repeated_section_has_its_keys_replaced_too() {
        let before = "[edge]\nregion = x\n[other]\naws_access_key_id = KEEP\n[edge]\naws_secret_access_key = OLD\naws_secret_access_key = OLDER\n";
        let after = set_profile(before, "edge", &creds("A"));
        assert_eq!(
            after.as_str(),
            "[edge]\nregion = x\naws_access_key_id = A\naws_session_token = TOKEN\n[other]\naws_access_key_id = KEEP\n[edge]\naws_secret_access_key = SECRET\n"
        );
    }

    /// Found by the credentials_file fuzz target: a line indented by other whitespace (a
    /// vertical tab) continues the old value as a space-indented one does.
    #[test]
    fn a_line_indented_by_any_whitespace_continues_the_old_value() {
        let before = "[default]\naws_access_key_id = OLD\n\u{b}aws_access_key_id = OLDER\n";
        let after = set_profile(before, "default", &creds("A"));
        assert!(
            after.starts_with("[default]\naws_access_key_id = A\naws_secret"),
            "{:?}",
            after.as_str()
        );
        assert!(!after.contains("OLD"), "{:?}", after.as_str());
    }

    #[test]
    fn values_and_names_that_would_break_the_ini_structure_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials");
        std::fs::write(&path, "[other]\nk = v\n").unwrap();
        for bad in ["X\n[evil]\nk = v", "X\rY", "", " X", "X\u{0}"] {
            let mut credentials = creds("A");
            credentials.secret_access_key = bad.into();
            let error = write_profile(&path, "edge", &credentials)
                .unwrap_err()
                .to_string();
            assert!(error.contains("aws_secret_access_key"), "{error}");
            assert!(bad.is_empty() || !error.contains(bad), "{error}");
        }
        for bad in ["]\n[evil", "a\rb", "[x]"] {
            assert!(write_profile(&path, bad, &creds("A")).is_err(), "{bad:?}");
            let error = check_section_name("--ini-profile", bad)
                .unwrap_err()
                .to_string();
            assert!(error.starts_with("--ini-profile"), "{error}");
            assert!(!error.contains('\n') && !error.contains('\r'), "{error}");
        }
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "[other]\nk = v\n");
    }

    #[test]
    fn a_fifo_is_refused_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("credentials");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &path,
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let error = write_profile(&path, "edge", &creds("A"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("not a regular file"), "{error}");
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
