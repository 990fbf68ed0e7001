#!/usr/bin/env bash
# Agent benchmark (issue 4): what the fleet agent costs on top of NATS itself.
#
#   bench/agent.sh [--quick]
#
# One real nats-server on loopback, with user/password auth. On it:
#   - fleet-agent, answering ping on device-commands.bench-1.ping
#   - the floor: a raw libnats responder with SendAsap (agent-bench respond)
#     answering a reply of the same size on bench.raw.ping
# Both are measured the same way, in alternating rounds (agent-bench measure):
#   ping round trip p50 and p99 (sequential requests)
#   requests per second (4 concurrent requesters)
# and the daemon's resident memory when idle (VmRSS after 2 s of nothing, with
# only nats-server beside it, as on a device), then again after the load.
#
# Targets: p50 within 1.5x of the floor; throughput at least 0.7x of it;
# idle RSS under 10 MB. Prints figures and ratios; exits 1 if one is missed.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
requests=5000
rounds=3
[ "${1:-}" = "--quick" ] && { requests=1500; rounds=2; }
bench=$build/bench/agent-bench
agent=$build/bin/fleet-agent
require_programs nats-server
nats=$(PATH="$PATH:/usr/sbin" command -v nats-server)
require_built "$bench" "$agent"

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
port=$(free_port)
url=nats://127.0.0.1:$port
cat >"$work/nats.conf" <<CONF
listen: 127.0.0.1:$port
authorization { users = [ { user: bench, password: "bench-secret" } ] }
CONF
"$nats" -c "$work/nats.conf" >"$work/nats.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "Server is ready" "$work/nats.log" && break; sleep 0.05; done

umask 077
printf 'bench-secret\n' >"$work/password"
cat >"$work/agent.yaml" <<CONF
device_id: bench-1
nats: { urls: ["$url"], user: bench, password_file: "$work/password" }
labels: { site: lab, role: bench }
heartbeat: { interval: 5s }
workloads: { directory: "$work/workloads" }
logs: { level: warn }
CONF
"$agent" --config "$work/agent.yaml" 2>"$work/agent.log" &
agent_pid=$!
pids+=($agent_pid)
# Idle memory first: the agent alone with nats-server, as on a device, before
# any request has grown a buffer (and before the floor's process shares its
# libraries, which would keep their pages resident).
sleep 2
rss_kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$agent_pid/status")
pss_kb=$(awk '/^Pss:/ { print $2 }' "/proc/$agent_pid/smaps_rollup")

export BENCH_NATS_USER=bench BENCH_NATS_PASSWORD=bench-secret
"$bench" respond "$url" bench.raw.ping >"$work/raw.out" &
pids+=($!)
for _ in $(seq 100); do grep -q ready "$work/raw.out" 2>/dev/null && break; sleep 0.05; done

best() {  # subject -> best p50, its p99 and the best rps over the rounds
  local out=$work/$2.json
  : >"$out"
  for _ in $(seq "$rounds"); do "$bench" measure "$url" "$1" "$requests" 4 >>"$out"; done
  python3 - "$out" <<'PY'
import json, sys
runs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
p50 = min(r["p50_us"] for r in runs)
p99 = min(r["p99_us"] for r in runs)
rps = max(r["rps"] for r in runs)
print(f"{p50} {p99} {rps}")
PY
}
read -r raw_p50 raw_p99 raw_rps < <(best bench.raw.ping raw)
read -r agent_p50 agent_p99 agent_rps < <(best device-commands.bench-1.ping agent)
# A second pass of the floor, so that neither side gets only the warm machine.
read -r raw2_p50 raw2_p99 raw2_rps < <(best bench.raw.ping raw2)
raw_p50=$(python3 -c "print(min($raw_p50, $raw2_p50))")
raw_p99=$(python3 -c "print(min($raw_p99, $raw2_p99))")
raw_rps=$(python3 -c "print(max($raw_rps, $raw2_rps))")

sleep 1
rss_after_kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$agent_pid/status")

missed=0
verdict() { if python3 -c "import sys; sys.exit(0 if $1 else 1)"; then echo met; else echo MISSED; missed=1; fi; }
p50_ratio=$(python3 -c "print(f'{$agent_p50 / $raw_p50:.2f}')")
p99_ratio=$(python3 -c "print(f'{$agent_p99 / $raw_p99:.2f}')")
rps_ratio=$(python3 -c "print(f'{$agent_rps / $raw_rps:.2f}')")
rss_mb=$(python3 -c "print(f'{$rss_kb / 1024:.1f}')")
echo "== fleet-agent vs a raw libnats responder (SendAsap), nats-server $("$nats" --version | awk '{print $2}'), best of $rounds rounds of $requests requests"
printf '  %-34s %10s %10s %8s   %s\n' "" "agent" "floor" "ratio" "target"
printf '  %-34s %8.0f us %8.0f us %7sx   <= 1.5x: %s\n' "ping round trip p50" "$agent_p50" "$raw_p50" "$p50_ratio" "$(verdict "$p50_ratio <= 1.5")"
printf '  %-34s %8.0f us %8.0f us %7sx   (shown)\n' "ping round trip p99" "$agent_p99" "$raw_p99" "$p99_ratio"
printf '  %-34s %8.0f/s  %8.0f/s  %7sx   >= 0.7x: %s\n' "requests per second (4 requesters)" "$agent_rps" "$raw_rps" "$rps_ratio" "$(verdict "$rps_ratio >= 0.7")"
printf '  %-34s %8s MB %10s %8s   < 10 MB: %s\n' "fleet-agent idle RSS" "$rss_mb" "" "" "$(verdict "$rss_kb < 10240")"
printf '  %-34s %8s MB   (proportional share of shared pages)\n' "fleet-agent idle PSS" "$(python3 -c "print(f'{$pss_kb / 1024:.1f}')")"
printf '  %-34s %8s MB   (idle again after the load; the floor shares its libraries)\n' "fleet-agent RSS after the load" "$(python3 -c "print(f'{$rss_after_kb / 1024:.1f}')")"
exit $missed
