#!/usr/bin/env bash
# The fleet on k3d: runs only where a container engine and k3d both work
# (`docker info` and `k3d version`); otherwise it says why and exits 77,
# which CTest reports as skipped. With them: the agent's image built into
# docker, harmony deploy fleet --topology k3d (the cluster made, the image
# imported), ping, exec, two agents, then everything deleted, cluster too.
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
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XDG_STATE_HOME=$work/state
cluster=harmony-e2e-$$
where=(--topology k3d --cluster "$cluster")
# The agent's image into docker, for the k3d topology to import; NATS's
# upstream image is pulled by the cluster.
"$harmony" fleet images build --builder docker --archive "$work/agent.tar" &&
  "$harmony" deploy fleet "${where[@]}" &&
  "$harmony" agent ping edge-1 &&
  "$harmony" agent exec edge-1 -- /usr/bin/uptime &&
  "$harmony" fleet status "${where[@]}" &&
  "$harmony" deploy fleet "${where[@]}" --set agent.count=2 &&
  "$harmony" agent ping edge-2
status=$?
"$harmony" destroy fleet "${where[@]}" --yes --purge --delete-cluster >/dev/null 2>&1 || true
exit $status
