#!/usr/bin/env bash
# Builds the .deb (docs/install.md): the release binary for glibc 2.17+ (cargo zigbuild, zig from
# PyPI), the glibc check, man pages and completions from the clap definitions (crates/dist), and
# cargo deb. Installs cargo-deb and cargo-zigbuild (crates.io, into ~/.cargo/bin, once) and zig
# (PyPI, into target/test-venv) when missing. Prints the .deb's path on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."

target=x86_64-unknown-linux-gnu
for tool in cargo-deb cargo-zigbuild; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "package.sh: installing $tool from crates.io" >&2
        cargo install --locked --quiet "$tool"
    fi
done
venv=target/test-venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
if ! "$venv/bin/python" -c 'import ziglang' >/dev/null 2>&1; then
    echo "package.sh: installing zig (PyPI ziglang) into $venv" >&2
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'ziglang>=0.13,<0.18'
fi
zig_dir=$("$venv/bin/python" -c 'import ziglang, os; print(os.path.dirname(ziglang.__file__))')
export CARGO_ZIGBUILD_ZIG_PATH="$zig_dir/zig"

# The one release build (fat LTO: minutes), reused by the checks and the package. build.rs leaves
# out its rust-lld hot-code order here (zigbuild sets the target's linker).
cargo zigbuild --release --quiet --target "$target.2.17" --bin rolesanywhere-helper
bin=target/$target/release/rolesanywhere-helper
scripts/check-glibc.sh "$bin" 2.17 >&2

rm -rf target/dist
cargo run --quiet -p rolesanywhere-dist -- target/dist
gzip -9n target/dist/man/*.1

cargo deb --no-build --quiet --target "$target" --output target/debian/
ls target/debian/rolesanywhere-helper_*_amd64.deb | tail -1
