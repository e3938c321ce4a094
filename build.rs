//! Build script, for the release binary's start-up: it lays out the code a credential-process
//! run executes contiguously, so that a run maps (and faults in) about 1.3 MB of code instead of
//! nearly all 3.3 MB, and links GCC's unwinder statically, so that libgcc_s.so (0.1 ms per
//! process to load here, for an unwinder that `panic = "abort"` uses only for backtraces) is not
//! loaded at all: the binary needs libc.so.6 alone.
//!
//! `link/hot-symbols.txt` lists those functions; `link/order-hot-code.sh` regenerates it (after a
//! toolchain or Cargo.lock change the names change and the list no longer matches: harmless, the
//! layout is then simply the linker's default). Only for release builds linked by rust-lld, the
//! default linker of x86_64-unknown-linux-gnu; any other linker or target links as usual, and so
//! does a toolchain whose `cc` has no libgcc_eh.a.

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
    static_unwinder();
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

/// Links GCC's unwinder statically (libgcc_eh, as `gcc -static-libgcc` does). Listed with our
/// crate's native libraries, it comes before std's `-lgcc_s`, so the linker finds the `_Unwind_*`
/// symbols there first and `--as-needed` then drops libgcc_s.
fn static_unwinder() {
    let Ok(output) = std::process::Command::new("cc")
        .arg("-print-file-name=libgcc_eh.a")
        .output()
    else {
        return;
    };
    let path = String::from_utf8_lossy(&output.stdout).trim().to_string();
    let archive = Path::new(&path);
    if let Some(directory) = archive
        .parent()
        .filter(|_| archive.is_absolute() && archive.is_file())
    {
        println!("cargo:rustc-link-search=native={}", directory.display());
        println!("cargo:rustc-link-lib=static:-bundle=gcc_eh");
    }
}
