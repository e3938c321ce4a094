#!/usr/bin/env bash
# `serve` benchmark (method and results: bench/README.md), next to a baseline measured in the same run:
#   - requests per second and p99 latency for cached credentials, wrk on loopback with keep-alive
#     connections, for the container endpoint (GET /v1/credentials, Authorization: <token>) and
#     IMDSv2 (GET …/security-credentials/<role> with a token from PUT /latest/api/token);
#     baseline: nginx (1 worker, as serve has one thread) returning the same JSON document as a fixed string, the
#     least a server can do for the same request and answer;
#   - RSS from /proc/PID/status: idle after start, idle after the load (VmRSS) and the peak
#     (VmHWM);
#   - CreateSession calls: counted in the local endpoint's request log during the run, and per
#     hour per host from the refresh schedule for the default 3600 s sessions.
# Usage: bench/serve.sh [SECONDS] (default 10 per wrk run); CONNECTIONS (32) and THREADS (1)
# set wrk's -c and -t. wrk, serve and nginx share the machine's cores.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
connections=${CONNECTIONS:-32}
threads=${THREADS:-1}

if ! command -v wrk >/dev/null || ! command -v curl >/dev/null || ! command -v nginx >/dev/null; then
    if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends wrk curl openssl
    # The baseline only: without it the run goes on and says so.
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nginx-light \
        >/dev/null 2>&1 || true
fi
cargo build --release --quiet
bin=$PWD/target/release/rolesanywhere-helper

# shellcheck source=bench/lib.sh
. bench/lib.sh
make_ca
make_leaf leaf EC ec_paramgen_curve:P-256
start_endpoint "$work/ca.pem" --request-log "$work/requests.jsonl"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
token=$(head -c 24 /dev/urandom | base64 | tr '+/' '-_')
AWS_CA_BUNDLE=$work/tls-ca.pem "$bin" serve --port "$port" --bind 127.0.0.1 --container-token "$token" \
    --certificate "$work/leaf.pem" --private-key "$work/leaf.key" \
    --trust-anchor-arn $ta --profile-arn $profile --role-arn $role --endpoint "$url" 2>"$work/serve.log" &
serve_pid=$!
pids+=($serve_pid)
base=http://127.0.0.1:$port
for _ in $(seq 400); do
    curl -sf -o "$work/document.json" -H "Authorization: $token" "$base/v1/credentials" && break
    sleep 0.05
done
[ -s "$work/document.json" ] || { echo "serve did not start:" >&2; cat "$work/serve.log" >&2; exit 1; }
imds_token=$(curl -sf -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 21600' "$base/latest/api/token")
imds_path=/latest/meta-data/iam/security-credentials/$role_name
curl -sf -o /dev/null -H "X-aws-ec2-metadata-token: $imds_token" "$base$imds_path"

status_kb() { awk -v key="$2:" '$1 == key {print $2}' "/proc/$1/status"; }
idle_start_kb=$(status_kb $serve_pid VmRSS)

# CPU time (user + system) a process has used, in clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# CPU time of a process and its children (nginx's workers), in clock ticks.
tree_ticks() {
    local total=0 pid
    for pid in $1 $(pgrep -P "$1" || true); do total=$((total + $(cpu_ticks "$pid"))); done
    echo $total
}
tick_us=$((1000000 / $(getconf CLK_TCK)))

# One wrk run against a server whose processes start at PID $1: prints "<requests/s> <p99 ms>
# <server CPU µs per request>"; fails on any error or non-2xx answer.
measure() {
    local out=$work/wrk.txt server=$1 before after
    shift
    before=$(tree_ticks "$server")
    wrk -t"$threads" -c"$connections" -d"${seconds}s" --latency "$@" > "$out"
    after=$(tree_ticks "$server")
    if grep -qE 'Non-2xx|Socket errors' "$out"; then
        echo "wrk saw errors:" >&2; cat "$out" >&2; exit 1
    fi
    python3 - "$out" $(((after - before) * tick_us)) <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
value, unit = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", text, re.M).groups()
p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
requests = int(re.search(r"(\d+) requests in", text).group(1))
cpu_us = float(sys.argv[2]) / requests
print(f"{rps:.0f} {p99:.3f} {cpu_us:.1f}")
PY
}

echo "== wrk -t$threads -c$connections -d${seconds}s on loopback (keep-alive), $(nproc) cores shared by wrk and the server"
row() { printf '%-46s %7s req/s   p99 %6s ms   %5s µs CPU/request%s\n' "$@"; }
read -r container_rps container_p99 container_cpu < <(measure $serve_pid -H "Authorization: $token" "$base/v1/credentials")
row "serve: container GET /v1/credentials" "$container_rps" "$container_p99" "$container_cpu" ""
read -r imds_rps imds_p99 imds_cpu < <(measure $serve_pid -H "X-aws-ec2-metadata-token: $imds_token" "$base$imds_path")
row "serve: IMDS GET /latest/.../$role_name" "$imds_rps" "$imds_p99" "$imds_cpu" ""

if command -v nginx >/dev/null; then
    nginx_port=$(free_port)
    mkdir -p "$work/nginx"
    cat > "$work/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$nginx_port;
        location / { default_type application/json; return 200 '$(cat "$work/document.json")'; }
    }
}
CONF
    nginx -p "$work/nginx" -c "$work/nginx.conf" 2>/dev/null &
    nginx_pid=$!
    pids+=($nginx_pid)
    for _ in $(seq 100); do curl -sf -o /dev/null "http://127.0.0.1:$nginx_port/" && break; sleep 0.05; done
    read -r nginx_rps nginx_p99 nginx_cpu < <(measure $nginx_pid "http://127.0.0.1:$nginx_port/v1/credentials")
    row "baseline: nginx, 1 worker, same document" "$nginx_rps" "$nginx_p99" "$nginx_cpu" \
        "$(printf '   serve container: x%.2f req/s, x%.2f CPU' "$(echo "$container_rps / $nginx_rps" | bc -l)" \
            "$(echo "$container_cpu / $nginx_cpu" | bc -l)")"
else
    echo "baseline: none (nginx-light could not be installed)"
fi

sleep 1
echo "== serve memory (/proc/$serve_pid/status)"
printf 'idle after start %s kB, idle after the load %s kB (VmRSS; %s kB of it private, RssAnon), peak %s kB (VmHWM)\n' \
    "$idle_start_kb" "$(status_kb $serve_pid VmRSS)" "$(status_kb $serve_pid RssAnon)" "$(status_kb $serve_pid VmHWM)"

echo "== CreateSession calls"
served=$(python3 -c "print(round(($container_rps + $imds_rps) * $seconds))")
printf 'during this run: %s (all %s requests answered from the cached credentials)\n' \
    "$(grep -c . "$work/requests.jsonl")" "$served"
python3 <<'PY'
# The refresher's default schedule (src/daemon/refresher.rs): after receiving credentials valid for L,
# wait d = min(U(0.5 L, 0.7 L), L - 20 min), at least min(max(L/4, 60 s), U).
L = 3600.0
lo, hi, cap = 0.5 * L, 0.7 * L, L - 1200.0
p_cap = (hi - cap) / (hi - lo)          # the jittered point falls after the cap
mean = (1 - p_cap) * (lo + cap) / 2 + p_cap * cap
print(f"per hour per host, 3600 s sessions: 3600 / E[d] = 3600 / {mean:.0f} s = {3600 / mean:.2f} "
      f"(d uniform in [{lo:.0f}, {hi:.0f}] s capped at {cap:.0f} s; between {3600 / cap:.2f} and "
      f"{3600 / lo:.2f}), however many clients ask")
PY
