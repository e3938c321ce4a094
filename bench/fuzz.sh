#!/usr/bin/env bash
# Runs every fuzz target (fuzz/fuzz_targets/) for SECONDS each, one after the other:
#   bench/fuzz.sh SECONDS [TARGET...]
# Prints `metric fuzz.<target>.execs N` per target and `metric fuzz.crashes N`; exits non-zero
# on any crash, timeout or out-of-memory (the input is kept in fuzz/artifacts/<target>/).
# The grown corpus stays in fuzz/corpus/<target>/ (not committed); the committed seeds are in
# fuzz/seeds/<target>/ (fuzz/make-seeds.sh). Each run is appended to target/fuzz/execs.tsv
# (date, target, seconds, executions) for the running totals in bench/README.md.
# Needs the nightly toolchain and cargo-fuzz (`cargo install --locked cargo-fuzz`).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:?usage: bench/fuzz.sh SECONDS [TARGET...]}
shift
# The fuzz build lives under target/ (cached between runs); sanitizers off: the product crate
# denies unsafe code, and the one unsafe module (PKCS#11 calls) is reached by no target.
cargo +nightly fuzz build -s none --target-dir target/fuzz >&2
bin=target/fuzz/x86_64-unknown-linux-gnu/release
if (($#)); then targets=("$@"); else mapfile -t targets < <(cargo +nightly fuzz list); fi
mkdir -p target/fuzz/logs
crashes=0
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    args=(-max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048
        -artifact_prefix="fuzz/artifacts/$t/")
    [ -f "fuzz/dict/$t.dict" ] && args+=(-dict="fuzz/dict/$t.dict")
    log=target/fuzz/logs/$t.log
    status=0
    "$bin/$t" "${args[@]}" "fuzz/corpus/$t" "fuzz/seeds/$t" >"$log" 2>&1 || status=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    execs=${execs:-0}
    echo "metric fuzz.$t.execs $execs"
    printf '%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "$seconds" "$execs" >>target/fuzz/execs.tsv
    if [ "$status" -ne 0 ]; then
        crashes=$((crashes + 1))
        echo "fuzz.sh: $t failed (exit $status): $(grep -m1 -E 'ERROR|panicked|deadly|timeout' "$log" || true)" >&2
        ls "fuzz/artifacts/$t" >&2
        echo "fuzz.sh: log in $log" >&2
    fi
done
echo "metric fuzz.crashes $crashes"
[ "$crashes" -eq 0 ]
