#!/usr/bin/env bash
# credential-process wall time with a key on a PKCS#11 token (SoftHSM2), next to the same with a
# key file in the same run: hyperfine medians against the local endpoint on loopback.
#   - EC P-256 and RSA-2048 generated in the token, next to openssl key files of the same type;
#   - EC P-384 imported into the token, next to the very same key as a file.
# The token (pkcs11/make-softhsm-token.sh) and everything else live in a temp dir.
# Signatures per second through the token: `cargo bench --bench pkcs11`.
# Usage: bench/pkcs11.sh [RUNS]   (default 200 runs per timing)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-200}

if ! command -v hyperfine >/dev/null || ! command -v softhsm2-util >/dev/null \
    || ! command -v pkcs11-tool >/dev/null || ! command -v p11tool >/dev/null; then
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        hyperfine openssl softhsm2 opensc gnutls-bin
fi
cargo build --release --quiet
bin=$PWD/target/release/rolesanywhere-helper

# shellcheck source=bench/lib.sh
. bench/lib.sh

# The token, its CA (a throwaway one in $work/hsm/ca.pem) and its keys.
label=rah-bench-$$
TOKEN_LABEL=$label USER_PIN=1234 pkcs11/make-softhsm-token.sh "$work/hsm" >/dev/null
# shellcheck disable=SC1091
. "$work/hsm/env"
export SOFTHSM2_CONF PKCS11_PIN=1234

# File keys of the same types from the same CA.
make_leaf p256 EC ec_paramgen_curve:P-256 "$work/hsm"
make_leaf rsa2048 RSA rsa_keygen_bits:2048 "$work/hsm"
start_endpoint "$work/hsm/ca.pem"

common="--trust-anchor-arn $ta --profile-arn $profile --role-arn $role --endpoint $url"
token_cmd() { echo "$bin credential-process --certificate pkcs11:token=$label;object=$1 --pkcs11-lib $PKCS11_MODULE $common"; }
file_cmd() { echo "$bin credential-process --certificate $1 --private-key $2 $common"; }
median_ms() { python3 -c "import json,sys; print('%.2f' % (json.load(open(sys.argv[1]))['results'][0]['median']*1000))" "$1"; }
time_ms() {
    local out=$work/$1.json
    shift
    # Each command must work before it is timed.
    "$@" >/dev/null 2>"$work/stderr" || { cat "$work/stderr" >&2; exit 1; }
    hyperfine -N --warmup 10 --runs "$runs" --export-json "$out" "$*" >/dev/null 2>&1
    median_ms "$out"
}

echo "== credential-process against the local endpoint ($runs runs, median; SoftHSM2 $(softhsm2-util --version))"
for case in "p256 ec256 $work/p256.pem $work/p256.key" \
    "rsa2048 rsa2048 $work/rsa2048.pem $work/rsa2048.key" \
    "p384-imported ec384-imported $work/hsm/ec384-imported-08.crt.pem $work/hsm/ec384-imported-08.key.pem"; do
    read -r name object cert key <<<"$case"
    # shellcheck disable=SC2046
    token_ms=$(time_ms "token-$name" $(token_cmd "$object"))
    # shellcheck disable=SC2046
    file_ms=$(time_ms "file-$name" $(file_cmd "$cert" "$key"))
    printf '%-16s token key %7s ms   key file %7s ms   token x%.2f of file\n' "$name" "$token_ms" "$file_ms" \
        "$(echo "$token_ms / $file_ms" | bc -l)"
done
