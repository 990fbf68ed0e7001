#!/usr/bin/env bash
# Kubernetes benchmarks (issue 10), on the test cluster's simulated (kwok)
# node, so that what is measured is harmony and kubectl, not image pulls.
#
#   bench/kube.sh [--quick]
#
#   1. deploy of a small set (Namespace, ConfigMap, Secret, a 2-replica
#      Deployment, Service) until Ready, into a fresh namespace: harmony
#      deploy sdktest shop vs the floor `kubectl apply --server-side -f
#      <the same objects> && kubectl rollout status`     target: <= 0.8x
#      (one of each in turn; after each, untimed, its Deployment is
#      deleted, so that every run meets a cluster holding the same pods)
#   2. a redeploy that changes nothing                    target: < 150 ms
#   3. plan (a server-side dry run, diffed)                target: < 200 ms
#   Also shown: API requests per deploy (cold and no-change; discovery
#   cached) and the plugin's peak RSS during a deploy.
#
# Uses the running test cluster ($HARMONY_CLUSTER_STATE), else starts one
# with e2e/cluster/up --kwok (as root) and stops it at the end. Prints
# medians and ratios; exits 1 when a target is missed.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
runs=15
[ "${1:-}" = "--quick" ] && runs=5
require_programs hyperfine python3
hyperfine=$(command -v hyperfine)
require_built "$build/bin/harmony" "$build/e2e/fixtures/harmony-sdktest"

work=$(mktemp -d)
cleanup() {
  release_test_cluster
  rm -rf "$work"
}
trap cleanup EXIT
use_test_cluster "$work"

export HOME=$work/home XDG_STATE_HOME=$work/state XDG_CACHE_HOME=$work/cache
mkdir -p "$HOME" "$work/bin"
cp "$build/bin/harmony" "$build/e2e/fixtures/harmony-sdktest" "$work/bin/"
export PATH="$work/bin:/usr/bin:/bin"
shop=(--topology kubeconfig --set shop.kwok=true --set shop.greeting=bench)

# A quiet cluster first: namespaces still being deleted (an earlier run's)
# keep the controllers and the API server busy, and would be measured.
for _ in $(seq 120); do
  "$kubectl" get namespaces --no-headers 2>/dev/null | grep -q Terminating || break
  sleep 0.5
done

# A deploy, to learn the objects harmony applies (kubectl gets the same ones)
# and to warm the discovery cache, as after any first use.
harmony deploy sdktest shop "${shop[@]}" -n "bench-$$-ref" >/dev/null
"$kubectl" get -n "bench-$$-ref" configmap/shop secret/shop deployment/shop service/shop -o json >"$work/live.json"
python3 - "$work/live.json" >"$work/objects.json" <<'EOF'
import json, sys
live = json.load(open(sys.argv[1]))
items = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "NAMESPACE"}}]
for o in live["items"]:
    m = o["metadata"]
    keep = {"name": m["name"], "namespace": "NAMESPACE", "labels": m.get("labels", {})}
    o = {k: v for k, v in o.items() if k not in ("status",)}
    o["metadata"] = keep
    if o["kind"] == "Service":
        for k in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy", "internalTrafficPolicy", "sessionAffinity"):
            o["spec"].pop(k, None)
    items.append(o)
print(json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))
EOF

# 1. deploy to Ready, fresh namespace each time.
n=0
deploy_once() {  # tool -> the time of one deploy, in seconds
  local tool=$1 ns t0 t1
  # A fresh namespace every time (counted here: a $(...) would count in a subshell).
  n=$((n + 1))
  ns="bench-$$-$tool-$n"
  if [ "$tool" = harmony ]; then
    t0=$(date +%s.%N)
    harmony deploy sdktest shop "${shop[@]}" -n "$ns" >/dev/null || { echo "bench: harmony deploy failed" >&2; exit 1; }
    t1=$(date +%s.%N)
  else
    sed "s/NAMESPACE/$ns/g" "$work/objects.json" >"$work/objects-$ns.json"
    t0=$(date +%s.%N)
    "$kubectl" apply --server-side -f "$work/objects-$ns.json" >/dev/null &&
      "$kubectl" rollout status -n "$ns" deployment/shop --timeout=120s >/dev/null ||
      { echo "bench: kubectl failed" >&2; exit 1; }
    t1=$(date +%s.%N)
  fi
  echo "$t0 $t1" | awk '{ printf "%.4f\n", $2 - $1 }'
  [ -z "${BENCH_VERBOSE:-}" ] || echo "$t0 $t1" | awk -v tool="$tool" '{ printf "  %s %.0f ms\n", tool, ($2 - $1) * 1000 }' >&2
  # Untimed: its pods go, so that every run meets the same cluster (the
  # simulated node readies pods more slowly the more it holds, and that
  # wait is the same for both tools, whatever either does).
  "$kubectl" delete -n "$ns" deployment/shop --cascade=foreground --wait=true >/dev/null
}
median_of() { sort -n | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.1f", m * 1000 }'; }
# One of each in turn, so that a change in the machine's load hits both.
: >"$work/harmony.times"
: >"$work/kubectl.times"
for i in $(seq "$runs"); do
  deploy_once harmony >>"$work/harmony.times" || exit 1
  deploy_once kubectl >>"$work/kubectl.times" || exit 1
done
harmony_ms=$(median_of <"$work/harmony.times")
kubectl_ms=$(median_of <"$work/kubectl.times")

# 2 and 3: a steady namespace.
steady=bench-$$-steady
harmony deploy sdktest shop "${shop[@]}" -n "$steady" >/dev/null
csv=$work/kube.csv
"$hyperfine" -N --warmup 3 --runs $((runs * 2)) --style none --export-csv "$csv" \
  -n redeploy "harmony deploy sdktest shop --topology kubeconfig --set shop.kwok=true --set shop.greeting=bench -n $steady" \
  -n plan "harmony sdktest plan shop --topology kubeconfig --set shop.kwok=true --set shop.greeting=changed -n $steady" \
  >/dev/null 2>&1
median() { awk -F, -v cmd="$1" 'NR > 1 && $1 == cmd { printf "%.1f", $4 * 1000 }' "$csv"; }

# Requests and memory.
trace=$work/trace
HARMONY_KUBE_TRACE=$trace harmony deploy sdktest shop "${shop[@]}" -n "bench-$$-trace" >/dev/null
cold_requests=$(wc -l <"$trace")
: >"$trace"
HARMONY_KUBE_TRACE=$trace harmony deploy sdktest shop "${shop[@]}" -n "bench-$$-trace" >/dev/null
steady_requests=$(wc -l <"$trace")
rss_kb=$(/usr/bin/time -f %M harmony-sdktest deploy shop "${shop[@]}" -n "bench-$$-rss" 2>&1 >/dev/null | tail -1)

missed=0
verdict() { if awk -v v="$1" -v t="$2" 'BEGIN { exit !(v <= t) }'; then echo met; else echo MISSED; missed=1; fi; }
ratio=$(awk -v h="$harmony_ms" -v k="$kubectl_ms" 'BEGIN { printf "%.2f", h / k }')
echo "== Kubernetes (kwok node; medians; $runs deploys each into fresh namespaces)"
printf '  %-52s %8s ms\n' "harmony deploy sdktest shop (to Ready)" "$harmony_ms"
printf '  %-52s %8s ms\n' "kubectl apply --server-side && rollout status" "$kubectl_ms"
printf '  %-52s %8sx    target <= 0.8x: %s\n' "ratio harmony / kubectl" "$ratio" "$(verdict "$ratio" 0.8)"
printf '  %-52s %8s ms   target < 150 ms: %s\n' "redeploy, nothing changed" "$(median redeploy)" "$(verdict "$(median redeploy)" 149.99)"
printf '  %-52s %8s ms   target < 200 ms: %s\n' "plan (server-side dry run, diffed)" "$(median plan)" "$(verdict "$(median plan)" 199.99)"
printf '  %-52s %8s\n' "API requests, first deploy (discovery cached)" "$cold_requests"
printf '  %-52s %8s\n' "API requests, redeploy with no change" "$steady_requests"
printf '  %-52s %8s MB\n' "peak RSS of the plugin during a deploy" "$(awk -v k="$rss_kb" 'BEGIN { printf "%.1f", k / 1024 }')"
exit $missed
