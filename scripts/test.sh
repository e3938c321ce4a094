#!/usr/bin/env bash
# The project's test command (README): installs whatever the tests need and is missing
# (Debian packages; botocore into a virtualenv under target/), then runs every check and test.
# Nothing is skipped: a test whose tool is missing fails.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v python3 >/dev/null 2>&1 || missing+=(python3)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
if ((${#missing[@]})); then
    echo "test.sh: installing ${missing[*]}" >&2
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Real AWS SDK clients of our outputs, in a private virtualenv.
venv=target/test-venv
if ! "$venv/bin/python" -c 'import botocore' >/dev/null 2>&1; then
    echo "test.sh: installing botocore into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check 'botocore>=1.34,<2'
fi
export RAH_TEST_PYTHON="$PWD/$venv/bin/python"

cargo fmt --all -- --check
cargo clippy --all-targets --quiet -- -D warnings
cargo test --all-targets
