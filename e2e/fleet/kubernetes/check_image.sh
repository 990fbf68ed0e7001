#!/usr/bin/env bash
# The fleet-agent image (packaging/container/build-image), built here without
# a container engine and run in the test cluster: it holds fleet-agent with
# exactly its runtime libraries and the documented exec programs, runs as
# nobody on a read-only root file system, and fleet-agent starts in it.
#   check_image.sh <fleet-agent>
set -uo pipefail
agent=$1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
skip() { echo "SKIPPED: $*"; exit 77; }
fail() { echo "FAILED: $*" >&2; exit 1; }
[ -n "${HARMONY_CLUSTER_STATE:-}" ] || skip "no test cluster (HARMONY_CLUSTER_STATE is not set)"
[ -f "$HARMONY_CLUSTER_STATE/cluster.env" ] || skip "no test cluster at $HARMONY_CLUSTER_STATE: $(head -1 "$HARMONY_CLUSTER_STATE.skipped" 2>/dev/null || echo 'it is not running')"
set -a; . "$HARMONY_CLUSTER_STATE/cluster.env"; set +a
kubectl=$HARMONY_CLUSTER_KUBECTL
work=$(mktemp -d)
ns=image-$$
ref=harmony.local/fleet-agent-test:$$
cleanup() {
  "$kubectl" delete namespace "$ns" --wait=false --ignore-not-found >/dev/null 2>&1
  ctr --address "$HARMONY_CLUSTER_STATE/containerd/containerd.sock" -n k8s.io images rm "$ref" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

HARMONY_IMAGE_BUILDER=oci "$root/packaging/container/build-image" "$agent" "$work/image.tar" "$ref" >/dev/null ||
  fail "build-image"

# What is in it: the agent, each library ldd names (and nothing else of
# /lib), busybox and its documented links, passwd and group.
mkdir -p "$work/oci" && tar -C "$work/oci" -xf "$work/image.tar"
layer=$(jq -r '.layers[0].digest' "$work/oci/blobs/sha256/$(jq -r '.manifests[0].digest' "$work/oci/index.json" | cut -d: -f2)" | cut -d: -f2)
tar -tf "$work/oci/blobs/sha256/$layer" | sed 's|^\./||; s|/$||' | sort >"$work/contents"
expected_libs=$(ldd "$agent" | awk '/=> \// { print $3 } /^\t\/.*ld-linux/ { print $1 }' | sed 's|^/||' | sort -u)
found_libs=$(grep -E '^(usr/)?lib(64|/x86_64-linux-gnu)?/.+\.so' "$work/contents" | sort -u)
[ "$found_libs" = "$expected_libs" ] || fail "the image's libraries are not exactly fleet-agent's:
$(diff <(echo "$expected_libs") <(echo "$found_libs"))"
for f in usr/bin/fleet-agent bin/busybox usr/bin/uptime usr/bin/df usr/bin/hostname bin/sh etc/passwd etc/group; do
  grep -qx "$f" "$work/contents" || fail "the image lacks $f"
done

ctr --address "$HARMONY_CLUSTER_STATE/containerd/containerd.sock" -n k8s.io images import "$work/image.tar" >/dev/null ||
  fail "ctr images import"
"$kubectl" create namespace "$ns" >/dev/null
# As an agent Pod runs it: non-root, read-only root, no token, nothing pulled.
"$kubectl" apply -n "$ns" -f - >/dev/null <<YAML || fail "apply the test pod"
apiVersion: v1
kind: Pod
metadata: {name: agent-image}
spec:
  restartPolicy: Never
  automountServiceAccountToken: false
  securityContext: {runAsNonRoot: true, runAsUser: 65534, runAsGroup: 65534}
  containers:
  - name: check
    image: $ref
    imagePullPolicy: Never
    command: [/bin/sh, -c, 'id -u; /usr/bin/fleet-agent --version; /usr/bin/uptime >/dev/null && echo uptime-ok']
    securityContext: {readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: {drop: [ALL]}}
YAML
for _ in $(seq 120); do
  phase=$("$kubectl" get pod agent-image -n "$ns" -o jsonpath='{.status.phase}' 2>/dev/null)
  [ "$phase" = Succeeded ] || [ "$phase" = Failed ] && break
  sleep 0.5
done
logs=$("$kubectl" logs agent-image -n "$ns" 2>&1)
[ "$phase" = Succeeded ] || fail "the pod ended $phase: $logs"
grep -qx 65534 <<<"$logs" || fail "the pod did not run as nobody: $logs"
grep -q "^fleet-agent $("$agent" --version | awk '{ print $2 }')" <<<"$logs" || fail "fleet-agent did not start in the image: $logs"
grep -qx uptime-ok <<<"$logs" || fail "/usr/bin/uptime does not work in the image: $logs"
echo "the fleet-agent image holds exactly its libraries and runs in the cluster as nobody on a read-only root"
