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
