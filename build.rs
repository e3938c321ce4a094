//! Build script: lays out the code a credential-process run executes contiguously in the release
//! binary, so that a run maps (and faults in) about 1.3 MB of code instead of nearly all 3.3 MB.
//!
//! `link/hot-symbols.txt` lists those functions; `link/order-hot-code.sh` regenerates it (after a
//! toolchain or Cargo.lock change the names change and the list no longer matches: harmless, the
//! layout is then simply the linker's default). Only for release builds linked by rust-lld, the
//! default linker of x86_64-unknown-linux-gnu; any other linker or target links as usual.

use std::env;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=link/hot-symbols.txt");
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER");

    let var = |name: &str| env::var(name).unwrap_or_default();
    let default_linker = var("TARGET") == "x86_64-unknown-linux-gnu"
        && env::var_os("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_none()
        && !var("CARGO_ENCODED_RUSTFLAGS").contains("link");
    if var("PROFILE") != "release" || !default_linker {
        return;
    }
    let order = Path::new(&var("CARGO_MANIFEST_DIR")).join("link/hot-symbols.txt");
    if order.is_file() {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        // Names the list holds but this build does not (another toolchain, other dependency
        // versions) are expected, not worth a warning.
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}
