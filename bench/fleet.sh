#!/usr/bin/env bash
# Fleet benchmark (issue 5): how long `harmony deploy fleet --topology local`
# takes, against the floor of doing the same by hand.
#
#   bench/fleet.sh [--quick]
#
#   cold deploy     from nothing (destroy --purge before each run) to NATS
#                   and one agent smoke-tested       target: within 10x the floor
#   warm deploy     again, nothing changed (smoke tests still run)
#                                                    target: under 100 ms
#   destroy         everything stopped               (shown, against the floor's stop)
#
# The floor (agent-bench floor): start the same nats-server and fleet-agent
# with the same configuration files directly, wait for /healthz, ping the
# agent until it answers; then stop both. Prints medians; exits 1 when a
# target is missed.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
runs=20
[ "${1:-}" = "--quick" ] && runs=8
require_programs hyperfine nats-server
hyperfine=$(command -v hyperfine)
nats=$(PATH="$PATH:/usr/sbin" command -v nats-server)
require_built "$build/bin/harmony" "$build/bin/harmony-fleet" "$build/bin/fleet-agent" "$build/bench/agent-bench"

work=$(mktemp -d)
export HOME=$work/home XDG_STATE_HOME=$work/state XDG_CACHE_HOME=$work/cache
mkdir -p "$HOME" "$work/bin"
cp "$build/bin/harmony" "$build/bin/harmony-fleet" "$build/bin/harmony-agent" "$build/bin/fleet-agent" "$work/bin/"
export PATH="$work/bin:/usr/bin:/bin"
client=$(free_port)
monitor=$(free_port)
set_ports="--set nats.client_port=$client --set nats.monitor_port=$monitor"
trap 'harmony destroy fleet --yes --purge >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
state=$XDG_STATE_HOME/harmony/fleet/local

csv=$work/fleet.csv
"$hyperfine" -N --runs "$runs" --style none --export-csv "$work/cold.csv" \
  --prepare "harmony destroy fleet --yes --purge" \
  -n cold "harmony deploy fleet $set_ports" >/dev/null 2>&1
harmony deploy fleet $set_ports >/dev/null
"$hyperfine" -N --warmup 3 --runs $((runs * 2)) --style none --export-csv "$work/warm.csv" \
  -n warm "harmony deploy fleet $set_ports" >/dev/null 2>&1
"$hyperfine" -N --runs "$runs" --style none --export-csv "$work/destroy.csv" \
  --prepare "harmony deploy fleet $set_ports" \
  -n destroy "harmony destroy fleet --yes" >/dev/null 2>&1

# The floor, with the configuration the deploy generated (a fresh JetStream
# store each run, as a cold deploy has).
harmony deploy fleet $set_ports >/dev/null
floor=$work/floor
mkdir -p "$floor/components/nats/files" "$floor/components/agent/files"
cp -r "$state/credentials" "$floor/"
cp "$state/components/nats/files/nats.conf" "$floor/nats.conf.template"
cp "$state/components/agent/files/edge-1.yaml" "$floor/components/agent/files/"
harmony destroy fleet --yes >/dev/null
operator_password=$(cat "$state/credentials/nats/operator.password")
: >"$work/floor.json"
for _ in $(seq "$runs"); do
  rm -rf "$floor/js"
  sed "s|store_dir: .*|store_dir: \"$floor/js\"|" "$floor/nats.conf.template" >"$floor/components/nats/files/nats.conf"
  BENCH_NATS_USER=operator BENCH_NATS_PASSWORD=$operator_password \
    "$build/bench/agent-bench" floor "$nats" "$floor/components/nats/files/nats.conf" "$monitor" \
    "$work/bin/fleet-agent" "$floor/components/agent/files/edge-1.yaml" "nats://127.0.0.1:$client" edge-1 >>"$work/floor.json"
done

read -r cold warm destroy floor_up floor_down < <(python3 - "$work" <<'PY'
import csv, json, statistics, sys
work = sys.argv[1]
def median_ms(name):
    with open(f"{work}/{name}.csv") as f:
        return float(next(csv.DictReader(f))["median"]) * 1000
runs = [json.loads(l) for l in open(f"{work}/floor.json") if l.strip()]
print(median_ms("cold"), median_ms("warm"), median_ms("destroy"),
      statistics.median(r["up_ms"] for r in runs), statistics.median(r["down_ms"] for r in runs))
PY
)
missed=0
verdict() { if python3 -c "import sys; sys.exit(0 if $1 else 1)"; then echo met; else echo MISSED; missed=1; fi; }
cold_ratio=$(python3 -c "print(f'{$cold / $floor_up:.1f}')")
destroy_ratio=$(python3 -c "print(f'{$destroy / $floor_down:.1f}')")
echo "== harmony deploy fleet --topology local (NATS + 1 agent), median of $runs runs; floor: the same by hand"
printf '  %-38s %8.1f ms   floor %6.1f ms  %5sx   target <= 10x: %s\n' "cold deploy, to smoke-tested" "$cold" "$floor_up" "$cold_ratio" "$(verdict "$cold <= 10 * $floor_up")"
printf '  %-38s %8.1f ms                            target < 100 ms: %s\n' "warm deploy, no change (smoke-tested)" "$warm" "$(verdict "$warm < 100")"
printf '  %-38s %8.1f ms   floor %6.1f ms  %5sx   (shown)\n' "destroy" "$destroy" "$floor_down" "$destroy_ratio"
exit $missed
