#!/usr/bin/env bash
# End-to-end test of the k3d stand-in (./k3d) against the real test cluster:
#
#   HARMONY_CLUSTER_STATE=STATE_DIR test.sh      (or test.sh STATE_DIR)
#
# Every command the stand-in implements is run as harmony's k3d topology
# would run it, and what it claims is checked against the cluster: a busybox
# httpd pod (from an image the stand-in imported) behind a NodePort Service is
# fetched from 127.0.0.1 through the stand-in's port forwarder; the kubeconfig
# it prints works with kubectl; `cluster list -o json` has k3d's shape and
# counts; stop and delete close the ports; refusals (0.0.0.0, duplicates, busy
# ports, unknown flags) fail as k3d does; calls.log records every call.
#
# Everything lives in a temporary state dir, the namespace k3dsi-<pid> and
# images named harmony.local/k3dsi-<pid>/..., all removed at the end (trap),
# whatever happened. A watchdog ends the test after 90 s.
#
# Exit status: 0 all good, 1 a check failed, 77 (prints "SKIPPED: reason")
# when there is no test cluster to run against.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
k3d=$here/k3d

skip() { echo "SKIPPED: $*"; exit 77; }
state=${1:-${HARMONY_CLUSTER_STATE:-}}
[[ -n $state ]] || skip "HARMONY_CLUSTER_STATE is not set: no test cluster to run the k3d stand-in against"
state=$(cd "$state" 2>/dev/null && pwd || echo "$state")
if [[ ! -f $state/cluster.env ]]; then
  [[ -f $state.skipped ]] && skip "$(cat "$state.skipped")"
  skip "no test cluster in $state (e2e/cluster/up starts one)"
fi
for tool in python3 curl ctr jq tar sha256sum timeout; do
  command -v "$tool" >/dev/null || skip "$tool is not installed"
done
[[ -x /bin/busybox ]] || skip "/bin/busybox (Debian's busybox-static) is missing: the test image is made from it"
. "$state/cluster.env"
export KUBECONFIG
. "$here/../cluster/lib/images.sh"

k() { "$HARMONY_CLUSTER_KUBECTL" --request-timeout=20s "$@"; }
ctr_() { timeout 60 ctr --address "$state/containerd/containerd.sock" --namespace k8s.io "$@"; }

tmp=$(mktemp -d /tmp/k3dsi.XXXXXX)
export HARMONY_K3D_STANDIN_CLUSTER=$state HARMONY_K3D_STANDIN_STATE=$tmp/state
id=k3dsi-$$
ns=$id
name=$id
img_oci=harmony.local/$id/busybox:oci
img_docker=harmony.local/$id/tiny:docker
marker="served through the k3d stand-in's forwarder ($id)"
holders=()

# The watchdog holds none of our output open, and takes its sleep with it when killed.
( trap 'kill "$nap" 2>/dev/null; exit 0' TERM; sleep 90 & nap=$!; wait "$nap" && kill -TERM $$ ) >/dev/null 2>&1 &
watchdog=$!

cleanup() {
  set +e
  for f in "$tmp"/state/clusters/*.json; do
    [[ -e $f ]] && "$k3d" cluster delete "$(basename "$f" .json)" >/dev/null 2>&1
  done
  for p in "${holders[@]}"; do kill "$p" 2>/dev/null; done
  k delete namespace "$ns" --wait=false >/dev/null 2>&1
  ctr_ images rm "$img_oci" "$img_docker" >/dev/null 2>&1
  kill "$watchdog" 2>/dev/null
  # Forwarders of anything left exit by themselves within a second of this.
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "FAILED: stopped by a signal (the watchdog stops the test after 90 s)"; exit 1' TERM INT

failures=0
calls=0
ok() { echo "ok: $*"; }
fail() { echo "FAILED: $*"; failures=$((failures + 1)); }
check() { local what=$1; shift; if "$@"; then ok "$what"; else fail "$what"; fi; }

# k3d ARGS...: runs the stand-in; sets rc, out (stdout), err (stderr).
k3d() {
  calls=$((calls + 1))
  timeout 120 "$k3d" "$@" >"$tmp/out" 2>"$tmp/err"
  rc=$?
  out=$(<"$tmp/out")
  err=$(<"$tmp/err")
}
show() { echo "  (exit $rc)"; sed 's/^/  stdout: /' <<<"$out"; sed 's/^/  stderr: /' <<<"$err"; }
# expect_ok WHAT / expect_fail WHAT TEXT: judge the last k3d call.
expect_ok() { if ((rc == 0)); then ok "$1"; else fail "$1"; show; fi; }
expect_fail() {
  if ((rc == 1)) && grep -qF -- "$2" <<<"$out$err"; then ok "$1"; else fail "$1 (wanted exit 1 and '$2')"; show; fi
}
has() { grep -qF -- "$1" <<<"$2"; }
matches() { [[ $1 =~ $2 ]]; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port_open() { timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
pid_alive() { [[ -r /proc/$1/stat ]] && [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]; }
forwarder_pid() { jq -r '.forwarder.pid // empty' "$tmp/state/clusters/$1.json" 2>/dev/null; }
# list_has NAME EXPR: `k3d cluster list -o json`, and a Python expression over `c`, the entry of NAME.
list_has() {
  local cname=$1 expr=$2
  k3d cluster list -o json
  ((rc == 0)) && python3 -c '
import json, sys
entries = json.loads(sys.argv[1]); name = sys.argv[2]
c = next((e for e in entries if e["name"] == name), None)
sys.exit(0 if eval("(" + sys.argv[3] + ")") else 1)' "$out" "$cname" "$expr"
}
fetch() { # fetch PORT: the marker through the forwarder, retried while kube-proxy programs the NodePort
  local i body
  for i in $(seq 1 40); do
    body=$(curl -fsS --max-time 3 "http://127.0.0.1:$1/" 2>/dev/null) && [[ $body == "$marker" ]] && return 0
    sleep 0.25
  done
  return 1
}

# --- the stand-in says what it is ------------------------------------------------
honesty="harmony k3d stand-in: backed by the test cluster at $state; real k3d was NOT exercised"
k3d version
expect_ok "k3d version"
echo "$(head -n 1 <<<"$err")"
check "every invocation says on stderr that real k3d was NOT exercised" has "$honesty" "$err"
version_re=$'^k3d version v5\\.[0-9]+\\.[0-9]+\nk3s version v1\\.[0-9]+\\.[0-9]+-k3s1 \\(default\\)$'
check "k3d version prints k3d's two lines" matches "$out" "$version_re"

HARMONY_K3D_STANDIN_STATE= k3d version
expect_fail "without HARMONY_K3D_STANDIN_STATE the stand-in refuses, saying so" "HARMONY_K3D_STANDIN_STATE not set"
calls=$((calls - 1)) # no state dir, so no calls.log line

k3d node list
expect_fail "a k3d command outside the subset exits 1" "unsupported by the stand-in: node list"

# --- a cluster with a port mapping to a NodePort -----------------------------------
k create namespace "$ns" >/dev/null || fail "create namespace $ns"
k -n "$ns" apply -f - >/dev/null <<EOF || fail "create the NodePort Service"
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
EOF
node_port=$(k -n "$ns" get service web -o jsonpath='{.spec.ports[0].nodePort}')
api_port=$(free_port)
host_port=$(free_port)
echo "  NodePort $node_port, host port 127.0.0.1:$host_port, API port 127.0.0.1:$api_port"

k3d cluster create "$name" --api-port "127.0.0.1:$api_port" -p "127.0.0.1:$host_port:$node_port@loadbalancer" \
  --wait --timeout 60s --kubeconfig-update-default=false --kubeconfig-switch-context=false
expect_ok "cluster create $name --api-port 127.0.0.1:$api_port -p 127.0.0.1:$host_port:$node_port@loadbalancer"
check "create reports success as k3d does" has "Cluster '$name' created successfully!" "$out"
check "create prints no kubeconfig warning when --kubeconfig-update-default=false" \
  bash -c '! grep -q "kubeconfig-update-default is not false" <<<"$1"' _ "$err"
fwd=$(forwarder_pid "$name")
check "the cluster's forwarder runs (pid $fwd)" pid_alive "${fwd:-0}"

check "cluster list -o json: k3d's shape, 1/1 servers running, a load balancer with both port mappings" list_has "$name" "
c is not None and c['serversRunning'] == 1 and c['serversCount'] == 1 and c['agentsCount'] == 0
and c['agentsRunning'] == 0 and c['hasLoadbalancer'] is True and c['network']['name'] == 'k3d-$name'
and c['imageVolume'] == 'k3d-$name-images' and 'clusterToken' not in c
and sorted((n['name'], n['role'], n['State']['Running']) for n in c['nodes'])
    == [('k3d-$name-server-0', 'server', True), ('k3d-$name-serverlb', 'loadbalancer', True)]
and [n for n in c['nodes'] if n['role'] == 'loadbalancer'][0]['portMappings'] == {
    '$node_port/tcp': [{'HostIp': '127.0.0.1', 'HostPort': '$host_port'}],
    '6443/tcp': [{'HostIp': '127.0.0.1', 'HostPort': '$api_port'}]}
and [n for n in c['nodes'] if n['role'] == 'server'][0]['serverOpts']['kubeAPI']['Binding']
    == {'HostIp': '127.0.0.1', 'HostPort': '$api_port'}"

k3d cluster list "$name" -o json
check "cluster list NAME -o json (ClusterGet) adds the load balancer's config" python3 -c '
import json, sys
c = json.loads(sys.argv[1])[0]
sys.exit(0 if c["serverLoadBalancer"]["config"]["ports"]["6443.tcp"] == ["k3d-%s-server-0" % sys.argv[2]] else 1)' "$out" "$name"

k3d cluster list
check "cluster list prints k3d's table" grep -Eq "^$name +1/1 +0/0 +true$" <<<"$out"
check "cluster list has k3d's header" grep -Eq '^NAME +SERVERS +AGENTS +LOADBALANCER$' <<<"$out"

k3d cluster list "$id-nope"
expect_fail "cluster list of an unknown cluster fails as k3d does" "No nodes found for given cluster"

k3d kubeconfig get "$name"
expect_ok "kubeconfig get $name"
printf '%s\n' "$out" >"$tmp/kubeconfig"
check "kubeconfig get names things as k3d does (k3d-NAME, admin@k3d-NAME) and inlines the certificates" python3 -c '
import sys
t = sys.argv[1]; n = sys.argv[2]; p = sys.argv[3]
need = ["---", "current-context: k3d-%s" % n, "  name: k3d-%s" % n, "- name: admin@k3d-%s" % n,
        "    user: admin@k3d-%s" % n, "    server: https://127.0.0.1:%s" % p, "certificate-authority-data: ",
        "client-certificate-data: ", "client-key-data: "]
sys.exit(0 if all(x in t for x in need) and "certificate-authority:" not in t else 1)' "$out" "$name" "$api_port"
nodes=$(k --kubeconfig "$tmp/kubeconfig" get nodes -o name 2>&1)
check "kubectl --kubeconfig <that file> get nodes reaches the test cluster through 127.0.0.1:$api_port" \
  has "node/$HARMONY_CLUSTER_NODE" "$nodes"
k3d kubeconfig get "$id-nope"
expect_fail "kubeconfig get of an unknown cluster fails" "No nodes found for given cluster"

# --- image import ------------------------------------------------------------------
make_busybox_image "$tmp/busybox" "$tmp/busybox-oci.tar" "$img_oci" 2>/dev/null || fail "make the OCI test image"
python3 - "$tmp/tiny-docker.tar" "$img_docker" <<'EOF' || fail "make the docker-save test image"
# A docker-save archive (manifest.json, config, layer), as `docker save` writes it.
import hashlib, io, json, sys, tarfile
out, ref = sys.argv[1], sys.argv[2]
def tar(members):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 0
            t.addfile(info, io.BytesIO(data))
    return buf.getvalue()
layer = tar([("hello.txt", b"k3d stand-in test\n")])
digest = hashlib.sha256(layer).hexdigest()
config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/hello.txt"]},
                     "rootfs": {"type": "layers", "diff_ids": ["sha256:" + digest]}}).encode()
config_name = hashlib.sha256(config).hexdigest() + ".json"
manifest = json.dumps([{"Config": config_name, "RepoTags": [ref], "Layers": [digest + "/layer.tar"]}]).encode()
with open(out, "wb") as f:
    f.write(tar([(config_name, config), (digest + "/layer.tar", layer), ("manifest.json", manifest)]))
EOF
k3d image import "$tmp/busybox-oci.tar" "$tmp/tiny-docker.tar" "$HARMONY_CLUSTER_BUSYBOX_IMAGE" "$id/not-there:1" -c "$name"
expect_ok "image import of an OCI archive, a docker-save archive, a present image and a missing one (k3d only warns)"
check "the missing image got k3d's warning" has "Image '$id/not-there:1' is not a file and couldn't be found in the container runtime" "$err"
check "import reports k3d's summary" has "Successfully imported 4 image(s) into 1 cluster(s)" "$out"
images=$(ctr_ images ls -q)
check "the OCI archive's image is in the test cluster's containerd" grep -qxF "$img_oci" <<<"$images"
check "the docker-save archive's image is in the test cluster's containerd" grep -qxF "$img_docker" <<<"$images"
k3d image import "$id/not-there:1" -c "$name"
expect_fail "image import of only a missing image fails as k3d does" "no valid images specified"
k3d image import "$HARMONY_CLUSTER_BUSYBOX_IMAGE" -c "$id-nope"
expect_fail "image import into an unknown cluster fails" "failed to get cluster $id-nope: No nodes found for given cluster"
k3d image import "$HARMONY_CLUSTER_BUSYBOX_IMAGE" -c "$name" -m direct -k
expect_ok "image import -m direct -k of a present image"

# --- traffic through the forwarder ---------------------------------------------------
for i in $(seq 1 100); do k -n "$ns" get serviceaccount default >/dev/null 2>&1 && break; sleep 0.1; done
k -n "$ns" apply -f - >/dev/null <<EOF || fail "create the httpd pod"
apiVersion: v1
kind: Pod
metadata: {name: web, labels: {app: web}}
spec:
  nodeName: $HARMONY_CLUSTER_NODE
  terminationGracePeriodSeconds: 0
  containers:
  - name: web
    image: $img_oci
    imagePullPolicy: Never
    command: [sh, -c, 'mkdir -p /www && echo "\$MARKER" >/www/index.html && exec httpd -f -p 8080 -h /www']
    env: [{name: MARKER, value: "$marker"}]
EOF
if k -n "$ns" wait --for=condition=Ready pod/web --timeout=60s >/dev/null; then
  ok "a pod from the imported OCI image ($img_oci, imagePullPolicy Never) is Ready"
else
  fail "the httpd pod from the imported image did not become Ready"
  k -n "$ns" describe pod web | tail -n 15
fi
check "GET http://127.0.0.1:$host_port/ reaches the pod through the forwarder and NodePort $node_port" fetch "$host_port"

# --- refusals and failures, as k3d fails -----------------------------------------------
other=$(free_port)
k3d cluster create "$id-x" --api-port "127.0.0.1:$(free_port)" -p "0.0.0.0:$other:$node_port@loadbalancer" \
  --kubeconfig-update-default=false
expect_fail "a port mapping on 0.0.0.0 is refused (the network rule)" "allows listeners on loopback only"
k3d cluster create "$id-x" --api-port "127.0.0.1:$(free_port)" -p "$other:$node_port@loadbalancer" \
  --kubeconfig-update-default=false
expect_fail "a port mapping without HOST (k3d's default 0.0.0.0) is refused" "host address 0.0.0.0"
k3d cluster create "$id-x" --api-port "0.0.0.0:$other" --kubeconfig-update-default=false
expect_fail "--api-port 0.0.0.0:PORT is refused" "refusing --api-port 0.0.0.0:$other"
k3d cluster create "$id-x" --kubeconfig-update-default=false
expect_fail "no --api-port (k3d would bind 0.0.0.0:random) is refused" "without --api-port"
check "nothing listens on $other after the refusals" bash -c "! timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$other' 2>/dev/null"
check "a refused create leaves no cluster" test ! -e "$tmp/state/clusters/$id-x.json"

k3d cluster create "$name" --api-port "127.0.0.1:$(free_port)" --kubeconfig-update-default=false
expect_fail "creating an existing cluster fails as k3d does" "Failed to create cluster '$name' because a cluster with that name already exists"

k3d cluster create "$id-b" --api-port "127.0.0.1:$(free_port)" -p "127.0.0.1:$host_port:$node_port@loadbalancer" \
  --kubeconfig-update-default=false
expect_fail "a host port another cluster holds fails with docker's message" "Bind for 127.0.0.1:$host_port failed: port is already allocated"
check "... and k3d's rollback" has "Cluster creation FAILED, all changes have been rolled back!" "$err"
check "... leaving no cluster $id-b" test ! -e "$tmp/state/clusters/$id-b.json"

busy=$(free_port)
timeout 60 python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(); time.sleep(60)' "$busy" &
holders+=($!)
for i in $(seq 1 50); do port_open "$busy" && break; sleep 0.1; done
k3d cluster create "$id-c" --api-port "127.0.0.1:$(free_port)" -p "127.0.0.1:$busy:$node_port@loadbalancer" \
  --kubeconfig-update-default=false
expect_fail "a host port another program holds fails as docker's userland proxy does" \
  "listen tcp4 127.0.0.1:$busy: bind: address already in use"

k3d cluster create "$id-y" --api-port "127.0.0.1:$(free_port)" --bogus
expect_fail "an unknown flag fails as cobra does" "unknown flag: --bogus"
k3d cluster create "Not_A_Hostname" --api-port "127.0.0.1:$(free_port)" --kubeconfig-update-default=false
expect_fail "an invalid cluster name fails as k3d does" "is not a valid hostname as per RFC 1123"
k3d cluster create "k3dsi-this-name-is-much-too-long-for-k3d" --api-port "127.0.0.1:$(free_port)"
expect_fail "a cluster name over 32 characters fails as k3d does" "Cluster name must be <= 32 characters"

# --- --kubeconfig-update-default left at true: warned and recorded, never done ----------
mkdir -p "$tmp/home"
HOME=$tmp/home k3d cluster create "$id-k" --api-port 127.0.0.1:random
expect_ok "cluster create without --kubeconfig-update-default=false"
check "... warns that real k3d would edit the default kubeconfig" has "WARNING: --kubeconfig-update-default is not false" "$err"
check "... and left \$HOME/.kube alone" test ! -e "$tmp/home/.kube"
k3d cluster delete "$id-k"
expect_ok "cluster delete $id-k"

# --- stop, start --------------------------------------------------------------------------
k3d cluster stop "$name"
expect_ok "cluster stop $name"
check "after stop: serversRunning 0" list_has "$name" "c['serversRunning'] == 0 and c['serversCount'] == 1"
check "after stop: the forwarder (pid $fwd) is gone" bash -c "! [[ -r /proc/$fwd/stat && \$(awk '{print \$3}' /proc/$fwd/stat) != Z ]]"
check "after stop: 127.0.0.1:$host_port is closed" bash -c "! timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$host_port' 2>/dev/null"
k3d cluster start "$name"
expect_ok "cluster start $name"
check "after start: serversRunning 1" list_has "$name" "c['serversRunning'] == 1"
check "after start: the pod answers through 127.0.0.1:$host_port again" fetch "$host_port"
k3d cluster start "$name"
expect_ok "starting a running cluster is a no-op"
check "... saying so as k3d does" has "All servers already running." "$out"

# --- delete ---------------------------------------------------------------------------------
fwd=$(forwarder_pid "$name")
k3d cluster delete "$name"
expect_ok "cluster delete $name"
check "after delete: the forwarder (pid $fwd) is gone" bash -c "! [[ -r /proc/$fwd/stat && \$(awk '{print \$3}' /proc/$fwd/stat) != Z ]]"
check "after delete: 127.0.0.1:$host_port is closed" bash -c "! timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$host_port' 2>/dev/null"
check "after delete: 127.0.0.1:$api_port is closed" bash -c "! timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/$api_port' 2>/dev/null"
check "after delete: no state left for $name" test ! -e "$tmp/state/clusters/$name.json"
k3d cluster list -o json
check "after delete: cluster list -o json is []" test "$out" = "[]"
check "the test cluster itself is untouched" bash -c "'$HARMONY_CLUSTER_KUBECTL' --request-timeout=20s get node '$HARMONY_CLUSTER_NODE' >/dev/null"
k3d cluster delete "$name"
expect_ok "deleting an unknown cluster succeeds as k3d does"
check "... saying there was nothing to delete" has "No nodes found for cluster '$name', nothing to delete." "$out"

# --- calls.log ------------------------------------------------------------------------------
check "calls.log has one JSON line per invocation ($calls), each with argv, cwd and exit code" python3 -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
calls = [json.loads(l) for l in lines]
ok = len(calls) == int(sys.argv[2]) and all({"argv", "cwd", "exit"} <= c.keys() for c in calls)
sys.exit(0 if ok else 1)' "$tmp/state/calls.log" "$calls"
check "calls.log: the create ran with --kubeconfig-update-default=false and exit 0, the duplicate with exit 1" python3 -c '
import json, sys
calls = [json.loads(l) for l in open(sys.argv[1])]
creates = [c for c in calls if c["args"][:3] == ["cluster", "create", sys.argv[2]]]
ok = (creates[0]["exit"] == 0 and "--kubeconfig-update-default=false" in creates[0]["args"]
      and creates[0]["kubeconfig_update_default"] is False and creates[1]["exit"] == 1)
sys.exit(0 if ok else 1)' "$tmp/state/calls.log" "$name"
check "calls.log: the create that left --kubeconfig-update-default at true is flagged" python3 -c '
import json, sys
calls = [json.loads(l) for l in open(sys.argv[1])]
c = [c for c in calls if c["args"][:3] == ["cluster", "create", sys.argv[2]]][0]
sys.exit(0 if c["kubeconfig_update_default"] is True and c["notes"] else 1)' "$tmp/state/calls.log" "$id-k"

echo "$honesty"
if ((failures)); then echo "$failures check(s) failed"; exit 1; fi
echo "all checks passed"
