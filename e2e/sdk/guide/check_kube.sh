#!/usr/bin/env bash
# The plugin-author guide's Kubernetes example (docs/plugin-author-guide.md,
# section 8), exactly as printed: its code blocks are extracted, built out of
# tree against the SDK installed into a scratch prefix, and the plugin is
# deployed to the test cluster, checked with kubectl, planned and destroyed.
# The image is the test cluster's busybox (nothing is pulled).
#   check_kube.sh <build-dir> <guide>
set -euo pipefail
build=$1
guide=$2
skip() { echo "SKIPPED: $*"; exit 77; }
[ -n "${HARMONY_CLUSTER_STATE:-}" ] || skip "no test cluster (HARMONY_CLUSTER_STATE is not set)"
[ -f "$HARMONY_CLUSTER_STATE/cluster.env" ] || skip "no test cluster at $HARMONY_CLUSTER_STATE: $(head -1 "$HARMONY_CLUSTER_STATE.skipped" 2>/dev/null || echo 'it is not running')"
set -a; . "$HARMONY_CLUSTER_STATE/cluster.env"; set +a
work=$(mktemp -d)
ns=guide-$$
cleanup() {
  PATH="$work/prefix/bin:$work/kubeweb/build:/usr/bin:/bin" harmony destroy kubeweb --yes --purge -n "$ns" >/dev/null 2>&1 || true
  "$HARMONY_CLUSTER_KUBECTL" delete namespace "$ns" --wait=false --ignore-not-found >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "check_kube: $*" >&2; exit 1; }

# The guide's blocks, by the file named on their first line.
mkdir -p "$work/kubeweb"
for file in main.cpp CMakeLists.txt; do
  awk -v want="kubeweb/$file" '
    /^```/ { if (inside) { inside = 0; if (found) exit } else { inside = 1; first = 1 }; next }
    inside && first { first = 0; if (index($0, want) > 0) { found = 1 } ; if (found) print; next }
    inside && found { print }' "$guide" >"$work/kubeweb/$file"
  [ -s "$work/kubeweb/$file" ] || fail "the guide has no block for kubeweb/$file"
done

cmake --install "$build" --prefix "$work/prefix" >/dev/null
export HOME="$work/home" XDG_STATE_HOME="$work/state" XDG_CACHE_HOME="$work/cache"
mkdir -p "$HOME"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$work/kubeweb" -B "$work/kubeweb/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_PREFIX_PATH="$work/prefix" \
  "${launcher[@]}" >/dev/null || fail "cmake could not configure the guide's example"
cmake --build "$work/kubeweb/build" >/dev/null || fail "the guide's example does not build"

export PATH="$work/prefix/bin:$work/kubeweb/build:/usr/bin:/bin"
out=$(harmony deploy kubeweb -n "$ns" --set web.image="$HARMONY_CLUSTER_BUSYBOX_IMAGE" --set web.greeting=bonjour --timeout 120s) ||
  fail "harmony deploy kubeweb failed: $out"
ready=$("$HARMONY_CLUSTER_KUBECTL" get deployment kubeweb -n "$ns" -o jsonpath='{.status.readyReplicas}')
[ "$ready" = 2 ] || fail "after deploy, the Deployment has $ready ready replicas, not 2"
[ "$("$HARMONY_CLUSTER_KUBECTL" get configmap kubeweb -n "$ns" -o jsonpath='{.data.index\.html}')" = bonjour ] ||
  fail "the ConfigMap does not hold the greeting"
plan=$(harmony kubeweb plan -n "$ns" --set web.image="$HARMONY_CLUSTER_BUSYBOX_IMAGE" --set web.greeting=bonjour --set web.replicas=3)
grep -q 'spec.replicas: 2 -> 3' <<<"$plan" || fail "plan does not show the replica change: $plan"
grep -q '^web: up' <<<"$(harmony kubeweb status -n "$ns")" || fail "status is: $(harmony kubeweb status -n "$ns")"
harmony destroy kubeweb --yes --purge -n "$ns" >/dev/null || fail "destroy failed"
[ -z "$("$HARMONY_CLUSTER_KUBECTL" get namespace "$ns" --ignore-not-found -o name)" ] || fail "destroy --purge left the namespace"
echo "the guide's Kubernetes example built out of tree, deployed, planned and destroyed"
