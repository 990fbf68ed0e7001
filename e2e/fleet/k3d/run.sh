#!/usr/bin/env bash
# The fleet on k3d: runs only where a container engine and k3d both work
# (`docker info` and `k3d version`); otherwise it says why and exits 77,
# which CTest reports as skipped. It fills up with the Kubernetes topologies.
#   run.sh <harmony> <directory of harmony-fleet>
set -uo pipefail
harmony=$1
plugins=$2
skip() { echo "skipped: $*; the k3d topology was NOT exercised"; exit 77; }
command -v docker >/dev/null || skip "docker is not installed"
docker info >/dev/null 2>&1 || skip "'docker info' fails: no container engine is running"
command -v k3d >/dev/null || skip "k3d is not installed"
k3d version >/dev/null 2>&1 || skip "'k3d version' fails"
export PATH="$plugins:$PATH"
if ! grep -q '^ *k3d' <<<"$("$harmony" fleet components 2>/dev/null)"; then
  skip "harmony-fleet has no k3d topology yet (it comes with the Kubernetes topologies)"
fi
"$harmony" deploy fleet --topology k3d && "$harmony" fleet status --topology k3d
status=$?
"$harmony" destroy fleet --topology k3d --yes >/dev/null 2>&1 || true
exit $status
