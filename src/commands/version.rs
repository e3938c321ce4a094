//! `version`: the version, as AWS's helper prints it.

/// The version and a newline.
pub fn run() -> Vec<u8> {
    format!("{}\n", env!("CARGO_PKG_VERSION")).into_bytes()
}
