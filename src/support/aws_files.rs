//! The AWS shared files (`~/.aws/config`, `~/.aws/credentials`): where they are, and their
//! INI section headers, as the SDKs read them.

use std::path::{Path, PathBuf};

/// One of the AWS shared files: the path in `variable` when it is set, else `~/.aws/<name>`;
/// `None` when neither the variable nor `HOME` is set.
pub fn aws_file(variable: &str, name: &str) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(variable).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    std::env::var_os("HOME")
        .filter(|home| !home.is_empty())
        .map(|home| Path::new(&home).join(".aws").join(name))
}

/// The section name a header line opens, if it is one (`[name]`, spaces inside allowed).
pub fn section_name(line: &str) -> Option<&str> {
    let trimmed = line.trim();
    trimmed
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .map(str::trim)
}

/// Checks that `name` can be written as a section header `[name]` that reads back as the same
/// one section: not empty, no brackets, no control characters (a newline would start a section
/// of its own), no surrounding spaces. `flag` names the flag in the error (exit 2).
pub fn check_section_name(flag: &str, name: &str) -> crate::Result<()> {
    let valid = !name.trim().is_empty()
        && name.trim() == name
        && !name.chars().any(|c| c == '[' || c == ']' || c.is_control());
    if valid {
        Ok(())
    } else {
        Err(crate::Error::invalid_argument(
            flag,
            format!(
                "'{name}' cannot be a section name (no brackets, control characters or surrounding spaces)"
            ),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_names_that_would_break_the_ini_structure_are_refused() {
        for good in ["default", "a b", "prod-eu", "café"] {
            assert!(check_section_name("--ini-profile", good).is_ok(), "{good}");
        }
        for bad in [
            "", " ", " x", "x ", "]\n[evil", "a[b", "a]b", "a\rb", "a\tb",
        ] {
            let error = check_section_name("--ini-profile", bad).err();
            assert_eq!(error.map(|e| e.exit_code()), Some(2), "{bad:?}");
        }
    }
}
