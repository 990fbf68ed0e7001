#!/usr/bin/env bash
# The k3d topology with real k3d and docker: runs only where both work
# (`docker info`, `k3d version`); otherwise it says why and exits 77 (CTest:
# skipped). The same flow the stand-in tests (e2e/sdk/test_kube.cpp) check,
# for real: a cluster created with the shop's node port on 127.0.0.1, a
# locally built image imported, the shop answering through the mapped port,
# no change on a redeploy, plan, status, logs, and destroy --delete-cluster.
#   run.sh <harmony> <directory of harmony-sdktest>
set -uo pipefail
harmony=$1
plugins=$2
skip() { echo "SKIPPED: $*; real k3d was NOT exercised (the stand-in tests cover the topology)"; exit 77; }
command -v docker >/dev/null || skip "docker is not installed"
docker info >/dev/null 2>&1 || skip "'docker info' fails: no container engine is running"
command -v k3d >/dev/null || skip "k3d is not installed"
k3d version >/dev/null 2>&1 || skip "'k3d version' fails"
command -v busybox >/dev/null || skip "busybox (static) is needed to build the test image"

work=$(mktemp -d)
cluster=harmony-e2e-$$
ns=shop
image=harmony.local/busybox-e2e:$$
export HOME=$work/home XDG_STATE_HOME=$work/state XDG_CACHE_HOME=$work/cache
mkdir -p "$HOME"
export PATH="$plugins:$(dirname "$harmony"):$PATH"
cleanup() {
  "$harmony" destroy sdktest --topology k3d --cluster "$cluster" --yes --purge --delete-cluster >/dev/null 2>&1
  k3d cluster delete "$cluster" >/dev/null 2>&1
  docker image rm "$image" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAILED: $*" >&2; exit 1; }

# A busybox image from the static binary, built here (nothing is pulled).
mkdir -p "$work/root/bin" "$work/root/www"
cp "$(command -v busybox)" "$work/root/bin/busybox"
for applet in sh httpd sleep echo; do ln -s busybox "$work/root/bin/$applet"; done
tar -C "$work/root" -c . | docker import - "$image" >/dev/null || fail "docker import of the test image"

port=$(python3 -c 'import random; print(random.randint(30000, 32000))')
set_flags=(--topology k3d --cluster "$cluster" -n "$ns" --set shop.image="$image" --set shop.pull_policy=Never
           --set shop.import_image=true --set shop.node_port="$port" --set shop.greeting=real-k3d)
"$harmony" deploy sdktest shop "${set_flags[@]}" --timeout 10m || fail "deploy on k3d"
[ "$(curl -s -m 5 "http://127.0.0.1:$port/")" = real-k3d ] || fail "the shop does not answer on 127.0.0.1:$port"
[ -f "$XDG_STATE_HOME/harmony/k3d/$cluster/kubeconfig" ] || fail "the cluster's kubeconfig is not in harmony's state"
[ ! -e "$HOME/.kube/config" ] || fail "~/.kube/config was written"
"$harmony" deploy sdktest shop "${set_flags[@]}" | grep -q 'no change\|unchanged' || fail "a redeploy with nothing changed changed something"
"$harmony" sdktest status --topology k3d --cluster "$cluster" -n "$ns" | grep -q '^shop: up' || fail "status"
"$harmony" sdktest plan shop "${set_flags[@]}" --set shop.replicas=3 | grep -q 'spec.replicas: 2 -> 3' || fail "plan"
"$harmony" sdktest logs shop --topology k3d --cluster "$cluster" -n "$ns" | grep -q 'shop serving' || fail "logs"
"$harmony" destroy sdktest --topology k3d --cluster "$cluster" -n "$ns" --yes --purge --delete-cluster || fail "destroy"
k3d cluster list -o json | grep -q "\"$cluster\"" && fail "the cluster is still there after --delete-cluster"
echo "the k3d topology worked with real k3d $(k3d version | head -1)"
