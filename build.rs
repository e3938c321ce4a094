//! Build script, for the release binary's start-up: it lays out the code a credential-process
//! run executes contiguously, so that a run maps (and faults in) about 1.3 MB of code instead of
//! nearly all 3.3 MB, and links GCC's unwinder statically, so that libgcc_s.so (0.1 ms per
//! process to load here, for an unwinder that `panic = "abort"` uses only for backtraces) is not
//! loaded at all: the binary needs libc.so.6 alone.
//!
//! `link/hot-symbols.txt` lists those functions; `link/order-hot-code.sh` regenerates it (after a
//! toolchain or Cargo.lock change the names change and the list no longer matches: harmless, the
//! layout is then simply the linker's default). For release builds of x86_64-unknown-linux-gnu
//! linked by rust-lld, its default linker; and for the glibc-2.17 build that the .deb ships
//! (`cargo zigbuild`, scripts/package.sh), whose `zig cc` refuses `--symbol-ordering-file`, by a
//! linker script that zig passes on to its ld.lld, with each name's hash left open (that build's
//! `--target` gives every crate other hashes). Any other linker or target links as usual, and so
//! does a toolchain whose `cc` has no libgcc_eh.a.

use std::env;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=link/hot-symbols.txt");
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER");

    let var = |name: &str| env::var(name).unwrap_or_default();
    let linker = var("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER");
    let usual_target = var("TARGET") == "x86_64-unknown-linux-gnu"
        && !var("CARGO_ENCODED_RUSTFLAGS").contains("link");
    if var("PROFILE") != "release" || !usual_target {
        return;
    }
    let order = Path::new(&var("CARGO_MANIFEST_DIR")).join("link/hot-symbols.txt");
    // cargo-zigbuild's linker is a generated `zigcc-<target>-<hash>.sh` wrapper script.
    if linker.contains("zigcc-") {
        if let Ok(list) = std::fs::read_to_string(&order) {
            let script = Path::new(&var("OUT_DIR")).join("hot-code.ld");
            if std::fs::write(&script, linker_script(&list)).is_ok() {
                println!("cargo:rustc-link-arg-bins=-Wl,-T,{}", script.display());
            }
        }
        return;
    }
    if !linker.is_empty() {
        return;
    }
    static_unwinder();
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

/// A linker script for ld.lld that lays out the listed functions first, in their order, then the
/// code of objects built without a section per function (ring's assembly: lld's ordering file
/// would move those sections whole, for the listed symbols in them), then the rest. Each Rust
/// function is the section `.text.<name>`, or `.text.unlikely.<name>` when LLVM judged it cold;
/// the parts of a name that hash its crate's build settings, or number a copy made during LTO,
/// are left open, so the list made from the usual build matches a build for an explicit
/// `--target`.
fn linker_script(list: &str) -> String {
    let mut script = String::from("SECTIONS {\n  .text : {\n");
    for name in list
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
    {
        // lld's script lexer would split a name at these; no Rust or C symbol has them.
        if name.contains(|c: char| c.is_whitespace() || "(){};\"".contains(c)) {
            continue;
        }
        let pattern = open_hashes(name);
        script.push_str(&format!(
            "    *(.text.{pattern} .text.unlikely.{pattern})\n"
        ));
    }
    script.push_str("    *(.text)\n    *(.text.*)\n  }\n} INSERT BEFORE .plt;\n");
    script
}

/// `name` with its hashes as wildcards: the legacy mangling's closing `17h<16 hex digits>E`, the
/// v0 mangling's crate disambiguators `Cs<base-62>_`, and LTO's `.<number>` suffix of a copy.
fn open_hashes(name: &str) -> String {
    let (name, copy) = match name.rsplit_once('.') {
        Some((stem, number))
            if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) =>
        {
            (stem, ".*")
        }
        _ => (name, ""),
    };
    let mut open = String::with_capacity(name.len() + 2);
    if name.starts_with("_R") {
        let mut rest = name;
        while let Some(at) = rest.find("Cs") {
            open.push_str(&rest[..at + 2]);
            let tail = &rest[at + 2..];
            let digits = tail.bytes().take_while(u8::is_ascii_alphanumeric).count();
            if tail.as_bytes().get(digits) == Some(&b'_') {
                open.push('*');
                rest = &tail[digits..];
            } else {
                rest = tail;
            }
        }
        open.push_str(rest);
    } else if name.starts_with("_ZN") && name.len() > 20 && name.ends_with('E') && {
        let hash = &name.as_bytes()[name.len() - 18..name.len() - 1];
        hash[0] == b'h' && hash[1..].iter().all(u8::is_ascii_hexdigit)
    } {
        open.push_str(&name[..name.len() - 17]);
        open.push_str("????????????????E");
    } else {
        open.push_str(name);
    }
    open.push_str(copy);
    open
}
