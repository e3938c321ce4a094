#!/usr/bin/env bash
# credential-process of this build against another build of the helper (a baseline binary, e.g.
# one built from an older commit), in the same run against the same local endpoint: hyperfine
# gives each command RUNS runs back to back after its warm-up, one command after the other; the ratio
# is of medians. Peak RSS is the median of 31 runs of /usr/bin/time.
# Usage: bench/compare.sh BASELINE_BINARY [RUNS]   (default 300 runs)
# BIN=PATH measures that binary instead of building target/release/rolesanywhere-helper (e.g. the
# glibc-2.17 build of scripts/package.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
baseline=$(realpath "$1")
runs=${2:-300}

if ! command -v hyperfine >/dev/null || [ ! -x /usr/bin/time ]; then
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends hyperfine time openssl
fi
if [ -n "${BIN:-}" ]; then
    bin=$(realpath "$BIN")
else
    cargo build --release --quiet
    bin=$PWD/target/release/rolesanywhere-helper
fi

# shellcheck source=bench/lib.sh
. bench/lib.sh
make_ca
make_leaf p256 EC ec_paramgen_curve:P-256
make_leaf rsa2048 RSA rsa_keygen_bits:2048
start_endpoint "$work/ca.pem"

cp_args() { echo "credential-process --certificate $work/$1.pem --private-key $work/$1.key --trust-anchor-arn $ta --profile-arn $profile --role-arn $role --endpoint $url"; }
median_ms() { python3 -c "import json,sys; r=json.load(open(sys.argv[1]))['results']; print(' '.join('%.2f' % (x['median']*1000) for x in r))" "$1"; }
median_rss_kb() {
    for _ in $(seq 31); do
        /usr/bin/time -f %M -o "$work/rss" "$@" >/dev/null 2>&1 || true
        tail -1 "$work/rss"
    done | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

printf '%-10s %12s %12s %8s %14s %14s\n' key "baseline ms" "this ms" ratio "baseline KB" "this KB"
for key in p256 rsa2048; do
    # shellcheck disable=SC2046
    hyperfine -N --warmup 20 --runs "$runs" --export-json "$work/$key.json" \
        "$baseline $(cp_args $key)" "$bin $(cp_args $key)" >/dev/null 2>&1
    read -r base_ms this_ms <<<"$(median_ms "$work/$key.json")"
    # shellcheck disable=SC2046
    base_kb=$(median_rss_kb "$baseline" $(cp_args $key))
    # shellcheck disable=SC2046
    this_kb=$(median_rss_kb "$bin" $(cp_args $key))
    ratio=$(python3 -c "print('%.3f' % ($this_ms / $base_ms))")
    printf '%-10s %12s %12s %8s %14s %14s\n' "$key" "$base_ms" "$this_ms" "×$ratio" "$base_kb" "$this_kb"
done
printf 'binary size: baseline %s bytes, this %s bytes\n' "$(stat -c %s "$baseline")" "$(stat -c %s "$bin")"
