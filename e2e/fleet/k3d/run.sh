#!/usr/bin/env bash
# The fleet on k3d: runs only where a container engine and k3d both work
# (`docker info`, `k3d version`, and kubectl and helm on PATH); otherwise it
# says why and exits 77, which CTest reports as skipped. With them: the
# agent's and the operator's images built into docker, harmony deploy fleet
# --topology k3d (the cluster made, the images imported, the operator's
# chart installed), ping, exec, a FleetDeployment rolled out, two agents,
# then everything deleted, cluster too.
#   run.sh <harmony> <directory of harmony-fleet>
set -uo pipefail
harmony=$1
plugins=$2
skip() { echo "skipped: $*; the k3d topology was NOT exercised"; exit 77; }
command -v docker >/dev/null || skip "docker is not installed"
docker info >/dev/null 2>&1 || skip "'docker info' fails: no container engine is running"
command -v k3d >/dev/null || skip "k3d is not installed"
k3d version >/dev/null 2>&1 || skip "'k3d version' fails"
command -v kubectl >/dev/null || skip "kubectl is not installed"
command -v helm >/dev/null || skip "helm is not installed (the operator's chart)"
export PATH="$plugins:$PATH"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export XDG_STATE_HOME=$work/state
cluster=harmony-e2e-$$
where=(--topology k3d --cluster "$cluster")
# The agent's and the operator's images into docker, for the k3d topology
# to import; NATS's upstream image is pulled by the cluster. Then a
# FleetDeployment on the labelled agent, waited on.
deployment='apiVersion: fleet.harmony.dev/v1alpha1
kind: FleetDeployment
metadata: {name: sleeper, namespace: fleet-system}
spec:
  targetSelector: {matchLabels: {site: lyon}}
  workload: {process: {command: /bin/sleep, args: ["600"]}}'
"$harmony" fleet images build --builder docker --archive "$work/agent.tar" &&
  "$harmony" deploy fleet "${where[@]}" --set agent.device_labels.edge-1=site=lyon &&
  "$harmony" agent ping edge-1 &&
  "$harmony" agent exec edge-1 -- /usr/bin/uptime &&
  "$harmony" fleet status "${where[@]}" &&
  kubectl --kubeconfig "$XDG_STATE_HOME/harmony/k3d/$cluster/kubeconfig" apply -f - <<<"$deployment" &&
  "$harmony" fleet rollout status sleeper "${where[@]}" --timeout 120s &&
  "$harmony" deploy fleet "${where[@]}" --set agent.count=2 --set agent.device_labels.edge-1=site=lyon &&
  "$harmony" agent ping edge-2
status=$?
"$harmony" destroy fleet "${where[@]}" --yes --purge --delete-cluster >/dev/null 2>&1 || true
exit $status
