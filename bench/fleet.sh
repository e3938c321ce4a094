#!/usr/bin/env bash
# The fleet cannot stampede (method and results: bench/README.md): 100,000 hosts on one-hour
# sessions run the refresher's real schedule (daemon::schedule, the function serve and update
# call) on a simulated clock, and this prints the per-second CreateSession rate's peak over its
# mean in the hour after a cold start and after a 30-minute outage:
#   metric fleet.peak_to_average.cold_start X
#   metric fleet.peak_to_average.after_outage X
# with the uncoordinated floor (as many calls at independent uniform instants) for comparison.
# Usage: bench/fleet.sh; FLEET_HOSTS, FLEET_SESSION_SECONDS, FLEET_SEED, FLEET_BIN_SECONDS (10)
# change the run, FLEET_PROFILE=SECONDS prints the rate around the outage's end.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo bench --quiet --bench fleet
