#!/usr/bin/env bash
# Benchmarks (method and results: bench/README.md), each figure next to a baseline measured in the same run:
#   - credential-process wall time (median) and peak RSS against the local endpoint on loopback,
#     for P-256 and RSA-2048; baseline: curl making the same HTTPS POST (TLS + HTTP, no signing);
#   - signatures per second per key type; baseline: `openssl speed` on the same machine;
#   - release binary size.
# Usage: bench/run.sh [RUNS]   (default 300 runs per timing)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-300}

if ! command -v hyperfine >/dev/null || [ ! -x /usr/bin/time ]; then
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends hyperfine time curl openssl
fi
cargo build --release --quiet
bin=$PWD/target/release/rolesanywhere-helper
# Measured now: `cargo bench` below rebuilds the binary with the dev-dependencies' features.
size=$(stat -c %s "$bin")

# shellcheck source=bench/lib.sh
. bench/lib.sh
make_ca
make_leaf p256 EC ec_paramgen_curve:P-256
make_leaf rsa2048 RSA rsa_keygen_bits:2048
start_endpoint "$work/ca.pem"

cp_cmd() { echo "$bin credential-process --certificate $work/$1.pem --private-key $work/$1.key --trust-anchor-arn $ta --profile-arn $profile --role-arn $role --endpoint $url"; }
curl_cmd="curl -s -o /dev/null --cacert $work/tls-ca.pem -X POST -H Content-Type:application/json --data {} $url/sessions?profileArn=x&roleArn=y&trustAnchorArn=z"

median_ms() { python3 -c "import json,sys; print('%.2f' % (json.load(open(sys.argv[1]))['results'][0]['median']*1000))" "$1"; }
median_rss_kb() {
    for _ in $(seq 31); do
        /usr/bin/time -f %M -o "$work/rss" "$@" >/dev/null 2>&1 || true
        tail -1 "$work/rss"
    done | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}

echo "== credential-process against the local endpoint ($runs runs, median)"
hyperfine -N --warmup 20 --runs "$runs" --export-json "$work/curl.json" "$curl_cmd" >/dev/null 2>&1
base_ms=$(median_ms "$work/curl.json")
base_rss=$(median_rss_kb $curl_cmd)
printf '%-28s %8s ms  %6s KB peak RSS\n' "baseline: curl same POST" "$base_ms" "$base_rss"
# What any process costs here (fork, exec, exit), for scale.
hyperfine -N --warmup 20 --runs "$runs" --export-json "$work/true.json" /bin/true >/dev/null 2>&1
printf '%-28s %8s ms\n' "process creation: /bin/true" "$(median_ms "$work/true.json")"
for key in p256 rsa2048; do
    hyperfine -N --warmup 20 --runs "$runs" --export-json "$work/$key.json" "$(cp_cmd $key)" >/dev/null 2>&1
    ms=$(median_ms "$work/$key.json")
    rss=$(median_rss_kb $(cp_cmd $key))
    printf '%-28s %8s ms  %6s KB peak RSS   time x%.2f of curl, RSS x%.2f of curl\n' "credential-process $key" "$ms" "$rss" \
        "$(echo "$ms / $base_ms" | bc -l)" "$(echo "$rss / $base_rss" | bc -l)"
done

echo "== signatures per second (ours through the Signer trait; openssl speed, 1 thread)"
cargo bench --quiet --bench signing 2>/dev/null > "$work/ours.txt"
openssl speed -seconds 2 -mr ecdsap256 ecdsap384 ecdsap521 rsa2048 rsa3072 rsa4096 2>/dev/null > "$work/openssl.txt"
python3 - "$work/ours.txt" "$work/openssl.txt" <<'PY'
import sys
ours = dict(line.split() for line in open(sys.argv[1]) if line.strip())
theirs = {}
for line in open(sys.argv[2]):
    parts = line.strip().split(":")
    # -mr lines: +F2:<n>:<bits>:<signs/s>:<verifies/s> (RSA), +F4:... (ECDSA)
    if parts[0] == "+F2":
        theirs[f"rsa{parts[2]}"] = float(parts[3])
    elif parts[0] == "+F4":
        theirs[f"ecdsap{parts[2]}"] = float(parts[3])
for name, value in ours.items():
    base = theirs.get(name)
    ratio = f"x{float(value) / base:.2f} of openssl" if base else "no openssl figure"
    print(f"{name:<12} {float(value):>10.0f} sign/s   openssl {base or 0:>10.0f} sign/s   {ratio}")
PY

echo "== release binary (cargo build --release)"
printf 'size %d bytes (%.1f MB)\n' "$size" "$(echo "$size / 1000000" | bc -l)"
# The code layout the timings depend on (build.rs, link/): a stale list costs memory and time.
link/order-hot-code.sh --check
