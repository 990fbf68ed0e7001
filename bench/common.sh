# Shared by the benchmark scripts (sourced): where the build is, what must be
# there, and free ports.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[1]}")/.." && pwd)
build=${HARMONY_BUILD_DIR:-$root/build}

# require_programs PROGRAM...: each on PATH, or exit 2 saying how to get it.
require_programs() {
  for program in "$@"; do
    PATH="$PATH:/usr/sbin" command -v "$program" >/dev/null ||
      { echo "bench: error: $program is needed (scripts/install-deps)" >&2; exit 2; }
  done
}
# require_built FILE...: each built, or exit 2.
require_built() {
  for f in "$@"; do
    [ -x "$f" ] || { echo "bench: error: build first (scripts/build): $f is missing" >&2; exit 2; }
  done
}
# A TCP port on 127.0.0.1 that is free now.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# use_test_cluster WORK_DIR: the running test cluster ($HARMONY_CLUSTER_STATE),
# else one started here with e2e/cluster/up --kwok (as root); sets `cluster`
# and `kubectl`, exports its variables. release_test_cluster stops the one
# started here (call it from the script's EXIT trap).
started_cluster=
use_test_cluster() {
  cluster=${HARMONY_CLUSTER_STATE:-}
  if [ -z "$cluster" ] || [ ! -f "$cluster/cluster.env" ]; then
    cluster=$1/cluster
    echo "starting a test cluster (e2e/cluster/up --kwok)..." >&2
    HARMONY_CLUSTER_OWNER_PID=$$ "$root/e2e/cluster/up" --kwok "$cluster" >"$1/up.log" 2>&1 ||
      { tail -5 "$1/up.log" >&2; echo "bench: error: no test cluster" >&2; exit 2; }
    started_cluster=$cluster
  fi
  set -a; . "$cluster/cluster.env"; set +a
  kubectl=$HARMONY_CLUSTER_KUBECTL
  export HARMONY_HELM=${HARMONY_HELM:-$HARMONY_CLUSTER_HELM}
}
release_test_cluster() {
  if [ -n "${KUBECONFIG:-}" ] && [ -n "${kubectl:-}" ]; then
    for ns in $("$kubectl" get ns -o name 2>/dev/null | sed -n "s|namespace/\(bench-$$-.*\)|\1|p"); do
      "$kubectl" delete ns "$ns" --wait=false >/dev/null 2>&1 || true
    done
  fi
  [ -n "$started_cluster" ] && "$root/e2e/cluster/down" "$started_cluster" >/dev/null 2>&1
  return 0
}
