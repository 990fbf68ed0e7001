#!/usr/bin/env bash
# The fleet on Kubernetes (issue 11), on the test cluster's real node, with
# the images already loaded (e2e/cluster/load-fleet-images):
#
#   bench/fleet-kube.sh [--quick]
#
#   1. cold `harmony deploy fleet --topology kubeconfig` into a fresh
#      namespace, to smoke-tested (NATS ready, the agent answering a ping)
#                                                          target: < 10 s
#   2. the first `harmony agent ping edge-1` after it      target: < 1 s
#   3. a redeploy that changes nothing                     target: < 0.5 s
#   4. agents 1 -> 2 under a running NATS, to the new one answering
#                                                          target: < 10 s
#   5. a harmony agent ping through the port-forward it opens itself
#      (nats.reach=port_forward)                          target: < 1 s
#   6. NATS's pod deleted: from NATS ready again to both agents answering
#                                                          target: < 5 s
#
# Anchors: the original system's ping e2e took 25 s warm against k3d (its
# README: about 12 s warm, 80 s cold). Uses the running test cluster
# ($HARMONY_CLUSTER_STATE), else starts one (as root) and stops it at the
# end. Prints medians; exits 1 when a target is missed.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
runs=5
[ "${1:-}" = "--quick" ] && runs=3
require_built "$build/bin/harmony" "$build/bin/harmony-fleet" "$build/bin/harmony-agent" "$build/bin/fleet-agent"

work=$(mktemp -d)
cleanup() {
  release_test_cluster
  rm -rf "$work"
}
trap cleanup EXIT
use_test_cluster "$work"
sets=()
while read -r set; do sets+=(--set "$set"); done < <("$root/e2e/cluster/load-fleet-images" "$cluster" "$build/bin/fleet-agent")

export HOME=$work/home XDG_STATE_HOME=$work/state XDG_CACHE_HOME=$work/cache
mkdir -p "$HOME" "$work/bin"
cp "$build/bin/harmony" "$build/bin/harmony-fleet" "$build/bin/harmony-agent" "$work/bin/"
export PATH="$work/bin:/usr/bin:/bin"
fleet=(--topology kubeconfig "${sets[@]}" --set nats.node_port=0)

now() { date +%s.%N; }
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.0f\n", (b - a) * 1000 }'; }
median() { sort -n | awk '{ a[NR] = $1 } END { printf "%.0f", (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
run() { "$@" >"$work/out" 2>&1 || { echo "bench: failed: $*" >&2; tail -20 "$work/out" >&2; exit 1; }; }

: >"$work/cold"; : >"$work/ping"; : >"$work/again"; : >"$work/scale"; : >"$work/tunnel"; : >"$work/restart"
for i in $(seq "$runs"); do
  ns=bench-$$-$i
  t0=$(now); run harmony deploy fleet "${fleet[@]}" -n "$ns"; t1=$(now)
  ms "$t0" "$t1" >>"$work/cold"
  t0=$(now); run harmony agent ping edge-1; t1=$(now)
  ms "$t0" "$t1" >>"$work/ping"
  t0=$(now); run harmony deploy fleet "${fleet[@]}" -n "$ns"; t1=$(now)
  ms "$t0" "$t1" >>"$work/again"
  grep -q "no change" "$work/out" || { echo "bench: the redeploy changed something" >&2; cat "$work/out" >&2; exit 1; }
  t0=$(now); run harmony deploy fleet agent "${fleet[@]}" --set agent.count=2 -n "$ns"; t1=$(now)
  ms "$t0" "$t1" >>"$work/scale"
  # NATS restarted under two agents.
  old=$("$kubectl" get pod -n "$ns" nats-0 -o jsonpath='{.metadata.uid}')
  "$kubectl" delete pod -n "$ns" nats-0 --wait=false >/dev/null
  for _ in $(seq 600); do
    state=$("$kubectl" get pod -n "$ns" nats-0 -o jsonpath='{.metadata.uid} {.status.containerStatuses[0].ready}' 2>/dev/null || true)
    [ -n "$state" ] && [ "${state%% *}" != "$old" ] && [ "${state##* }" = true ] && break
    sleep 0.1
  done
  t0=$(now)
  for _ in $(seq 300); do
    harmony agent ping edge-1 >/dev/null 2>&1 && harmony agent ping edge-2 >/dev/null 2>&1 && break
    sleep 0.05
  done
  t1=$(now)
  ms "$t0" "$t1" >>"$work/restart"
  run harmony deploy fleet "${fleet[@]}" --set agent.count=2 --set nats.reach=port_forward -n "$ns"
  t0=$(now); run harmony agent ping edge-1; t1=$(now)
  ms "$t0" "$t1" >>"$work/tunnel"
  run harmony destroy fleet --topology kubeconfig -n "$ns" --yes --purge
done

missed=0
verdict() { if [ "$1" -lt "$2" ]; then echo met; else echo MISSED; missed=1; fi; }
row() { printf '  %-58s %7s ms   target < %s ms: %s   (%s)\n' "$1" "$2" "$3" "$(verdict "$2" "$3")" "$4"; }
echo "== the fleet on Kubernetes (real node; images loaded; medians of $runs, each in a fresh namespace)"
row "cold deploy fleet, to smoke-tested (NATS + 1 agent)" "$(median <"$work/cold")" 10000 "original: ~80000 cold, ~12000-25000 warm"
row "first harmony agent ping after the deploy" "$(median <"$work/ping")" 1000 "original ping e2e: 25000 warm"
row "redeploy, nothing changed" "$(median <"$work/again")" 500 "-"
row "agents 1 -> 2, the new one answering (NATS reloads)" "$(median <"$work/scale")" 10000 "-"
row "harmony agent ping through its own port-forward" "$(median <"$work/tunnel")" 1000 "kubectl port-forward + a client"
row "NATS restarted: from ready again to both agents answering" "$(median <"$work/restart")" 5000 "the original's e2e contract: 5000"
exit $missed
