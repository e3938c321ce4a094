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
# PKCS#11 tests (tests/pkcs11.rs): SoftHSM2 tokens made by pkcs11/make-softhsm-token.sh.
command -v softhsm2-util >/dev/null 2>&1 || missing+=(softhsm2)
command -v pkcs11-tool >/dev/null 2>&1 || missing+=(opensc)
command -v p11tool >/dev/null 2>&1 || missing+=(gnutls-bin)
command -v setsid >/dev/null 2>&1 || missing+=(util-linux)
# TPM tests (tests/tpm.rs): a private swtpm with keys made by tpm/swtpm-fixture.sh.
command -v swtpm >/dev/null 2>&1 || missing+=(swtpm)
command -v swtpm_ioctl >/dev/null 2>&1 || missing+=(swtpm-tools)
command -v tpm2_createprimary >/dev/null 2>&1 || missing+=(tpm2-tools)
compgen -G '/usr/lib/*/ossl-modules/tpm2.so' >/dev/null || missing+=(tpm2-openssl)
command -v script >/dev/null 2>&1 || missing+=(bsdutils)
# p11-kit's proxy, as on many desktops: the PKCS#11 tests must pass with it installed (they give
# the helper a private default module instead of the host's).
compgen -G '/usr/lib/*/p11-kit-proxy.so' >/dev/null || missing+=(p11-kit-modules)
# The non-loopback bind test (tests/serve.rs) runs serve in a network namespace it creates.
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
# export's outputs sourced by the shells they are for (tests/export_exec.rs, src/output/export.rs):
# bash and dash for POSIX sh, fish for --format fish. (PowerShell has no Debian package: its
# quoting is checked by a parser of its single-quote rules.)
command -v bash >/dev/null 2>&1 || missing+=(bash)
command -v dash >/dev/null 2>&1 || missing+=(dash)
command -v fish >/dev/null 2>&1 || missing+=(fish)
if ((${#missing[@]})); then
    echo "test.sh: installing ${missing[*]}" >&2
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Real AWS SDK clients of our outputs (botocore), an independent ML-DSA implementation
# (dilithium-py) that checks our signatures, and a real STS implementation (moto in server mode,
# tests/support/moto.rs) for the calls made with the credentials, and the AWS CLI (v1, from
# PyPI: tests/chaining.rs runs it on the chained credentials), in a private virtualenv.
venv=target/test-venv
if ! "$venv/bin/python" -c 'import botocore, dilithium_py, moto.server, awscli' >/dev/null 2>&1; then
    echo "test.sh: installing botocore, dilithium-py, moto[server] and awscli into $venv" >&2
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    # python -m pip, not bin/pip: a venv copied from another checkout keeps the original's path
    # in bin/pip's #! line, and would install there.
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
        'botocore>=1.34,<2' 'dilithium-py==1.5.1' 'moto[server]>=5.1,<6' 'awscli>=1.32,<2'
fi
export RAH_TEST_PYTHON="$PWD/$venv/bin/python"

cargo fmt --all -- --check
./scripts/check-stages.sh
cargo clippy --workspace --all-targets --quiet -- -D warnings

# The verifier and the test bed must never depend on the helper they verify: "shares no code
# with the signer" is a fact of the dependency graph, checked here (dev-dependencies aside).
for crate in rolesanywhere-verifier rolesanywhere-testbed; do
    # A dependency on the helper is also a cycle (the helper depends on both), which makes
    # cargo tree itself fail: that fails the check too.
    if ! tree=$(cargo tree -p "$crate" -e normal,build --prefix none 2>&1); then
        echo "test.sh: cannot list the dependencies of $crate (does it depend on rolesanywhere-helper?):" >&2
        echo "$tree" >&2
        exit 1
    fi
    if grep -q '^rolesanywhere-helper ' <<<"$tree"; then
        echo "test.sh: $crate depends on rolesanywhere-helper; it must share no code with the signer it verifies" >&2
        cargo tree -p "$crate" -e normal,build -i rolesanywhere-helper >&2 || true
        exit 1
    fi
done

# Every crate's tests; benches (bench/run.sh) are measured, not run as tests.
cargo test --workspace

# Fuzz smoke: every target in fuzz/ for 15 s (bench/fuzz.sh, nightly toolchain, cargo-fuzz),
# so that a reintroduced crash, timeout or out-of-memory fails here. Long runs: CONTRIBUTING.md.
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked cargo-fuzz
bench/fuzz.sh 15

# The .deb (docs/install.md): the one glibc-2.17 release build, man pages and completions, cargo
# deb; then the package checked and installed on this machine (as root), and purged again.
deb=$(./scripts/package.sh | tail -1)
./scripts/check-package.sh "$deb"
