#!/usr/bin/env bash
# The fleet operator at scale (issue 12): COUNT simulated devices (bench/
# fleet_sim.cpp: a load generator speaking the documented protocol exactly:
# heartbeats in agent-status, a report in device-state for each desired key)
# on one real nats-server, the real fleet-operator, the test cluster's real
# API server. For 100 and then 1000 devices, each on a fresh NATS and
# operator:
#
#   1. a FleetDeployment targeting all of them applied -> every device has
#      its desired state                                   target: < 2 s
#   2. the last device report written -> the FleetDeployment's status shows
#      every device succeeded                              target: < 2 s
#   3. the operator's resident memory at the end          target: < 50 MB
#      and the CPU it used (user + system), printed
#
#   bench/fleet-operator.sh [COUNT...]      (default: 100 1000)
#
# Uses the running test cluster ($HARMONY_CLUSTER_STATE), else starts one (as
# root) and stops it at the end. Exits 1 when a target is missed.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(100 1000)
require_built "$build/bin/harmony" "$build/bin/harmony-fleet" "$build/bin/fleet-agent" "$build/bin/fleet-operator" "$build/bench/fleet-sim"
require_programs nats-server

work=$(mktemp -d)
operator_pid=
cleanup() {
  [ -n "$operator_pid" ] && kill "$operator_pid" 2>/dev/null && wait "$operator_pid" 2>/dev/null
  for state in "$work"/state-*; do
    [ -d "$state" ] && XDG_STATE_HOME=$state "$build/bin/harmony" destroy fleet --yes --purge >/dev/null 2>&1
  done
  [ -n "${kubectl:-}" ] && "$kubectl" delete fleetdevices -l "fleet.harmony.dev/fleet" --wait=false >/dev/null 2>&1
  release_test_cluster
  rm -rf "$work"
}
trap cleanup EXIT
use_test_cluster "$work"
export PATH="$build/bin:$PATH"
"$build/bin/harmony-fleet" crds | "$kubectl" apply --server-side --force-conflicts -f - >/dev/null
"$kubectl" wait --for condition=Established crd/fleetdeployments.fleet.harmony.dev crd/fleetdevices.fleet.harmony.dev >/dev/null

now_ms() { date +%s%3N; }
missed=0
verdict() {  # NAME VALUE TARGET UNIT
  local ok=yes
  awk -v v="$2" -v t="$3" 'BEGIN { exit !(v < t) }' || { ok=NO; missed=1; }
  printf '  %-58s %8s %s  (target < %s %s: %s, ratio %s)\n' "$1" "$2" "$4" "$3" "$4" "$ok" \
    "$(awk -v v="$2" -v t="$3" 'BEGIN { printf "%.2f", v / t }')"
}

echo "fleet operator scale: simulated devices (bench/fleet_sim.cpp) on nats-server $(nats-server --version | awk '{print $2}'), the test cluster's API server"
for count in "${counts[@]}"; do
  state=$work/state-$count
  ns=bench-$$-$count
  port=$(free_port)
  # A fresh NATS with the fleet's accounts and buckets: harmony's own deploy.
  XDG_STATE_HOME=$state "$build/bin/harmony" deploy fleet nats --set nats.client_port="$port" --set nats.monitor_port="$(free_port)" \
    >"$work/nats.out" 2>&1 || { cat "$work/nats.out" >&2; exit 1; }
  credentials=$state/harmony/fleet/local/credentials/nats
  "$kubectl" create namespace "$ns" >/dev/null
  metrics=127.0.0.1:$(free_port)
  "$build/bin/fleet-operator" --kubeconfig "$KUBECONFIG" --namespace "$ns" --watch-namespace "$ns" \
    --nats-urls "nats://127.0.0.1:$port" --nats-password-file "$credentials/fleet-operator.password" \
    --listen "$metrics" --identity "bench-$count" >"$work/operator-$count.log" 2>&1 &
  operator_pid=$!
  # The simulated devices, heartbeating, before the FleetDeployment exists.
  "$build/bench/fleet-sim" "nats://127.0.0.1:$port" operator "$credentials/operator.password" "$count" \
    "sim$count" "fleet=bench$count" 120 >"$work/sim-$count.out" 2>&1 &
  sim_pid=$!
  for _ in $(seq 100); do grep -q '"ready":true' "$work/sim-$count.out" && break; sleep 0.05; done
  grep -q '"ready":true' "$work/sim-$count.out" || { echo "bench: fleet-sim did not start" >&2; cat "$work/sim-$count.out" >&2; exit 1; }
  # The operator sees them all (and has made their FleetDevices) before the clock starts.
  for _ in $(seq 600); do
    n=$(curl -s "http://$metrics/metrics" 2>/dev/null | awk '/^fleet_operator_devices\{connectivity="online"\}/ { print $2 }' || true)
    [ "${n:-0}" = "$count" ] && break
    sleep 0.1
  done
  sleep 2
  cpu_before=$(awk '{ print $14 + $15 }' "/proc/$operator_pid/stat")
  t0=$(now_ms)
  printf 'apiVersion: fleet.harmony.dev/v1alpha1\nkind: FleetDeployment\nmetadata: {name: all, namespace: %s}\nspec:\n  targetSelector: {matchLabels: {fleet: bench%s}}\n  workload: {process: {command: /bin/sleep, args: ["3600"]}}\n' \
    "$ns" "$count" | "$kubectl" apply -f - >/dev/null
  # A watch on the status (kubectl wait): its start-up counts against the operator.
  "$kubectl" wait -n "$ns" --for=jsonpath='{.status.succeeded}'="$count" fleetdeployment/all --timeout=120s \
    >"$work/wait.out" 2>&1 || { echo "bench: the status never showed $count succeeded" >&2; cat "$work/wait.out" >&2; tail "$work/operator-$count.log" >&2; exit 1; }
  t_status=$(now_ms)
  wait "$sim_pid" || true
  result=$(tail -1 "$work/sim-$count.out")
  cpu_after=$(awk '{ print $14 + $15 }' "/proc/$operator_pid/stat")
  rss_kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$operator_pid/status")
  last_desired=$(sed -n 's/.*"last_desired_ms":\([0-9]*\).*/\1/p' <<<"$result")
  last_report=$(sed -n 's/.*"last_report_ms":\([0-9]*\).*/\1/p' <<<"$result")
  with_desired=$(sed -n 's/.*"with_desired":\([0-9]*\).*/\1/p' <<<"$result")
  [ "$with_desired" = "$count" ] || { echo "bench: only $with_desired of $count devices got desired state: $result" >&2; exit 1; }
  ticks=$(getconf CLK_TCK)
  echo "$count devices:"
  verdict "FleetDeployment applied -> every device has desired state" "$(awk -v a="$t0" -v b="$last_desired" 'BEGIN { printf "%.3f", (b - a) / 1000 }')" 2 s
  verdict "last report -> status shows all succeeded" "$(awk -v a="$last_report" -v b="$t_status" 'BEGIN { d = (b - a) / 1000; printf "%.3f", d < 0 ? 0 : d }')" 2 s
  verdict "operator resident memory" "$(awk -v k="$rss_kb" 'BEGIN { printf "%.1f", k / 1024 }')" 50 MB
  printf '  %-58s %8s s\n' "operator CPU for the rollout (user + system)" "$(awk -v a="$cpu_before" -v b="$cpu_after" -v t="$ticks" 'BEGIN { printf "%.2f", (b - a) / t }')"
  printf '  %-58s %8s\n' "desired-state writes (operator metrics)" \
    "$(curl -s "http://$metrics/metrics" | awk '/desired_writes_total\{op="put"\}/ { print $2 }')"
  kill "$operator_pid"; wait "$operator_pid" 2>/dev/null || true; operator_pid=
  "$kubectl" delete namespace "$ns" --wait=false >/dev/null
  "$kubectl" delete fleetdevices -l "fleet.harmony.dev/fleet=$ns" --wait=false >/dev/null 2>&1 || true
  XDG_STATE_HOME=$state "$build/bin/harmony" destroy fleet --yes --purge >/dev/null 2>&1 || true
done
exit "$missed"
