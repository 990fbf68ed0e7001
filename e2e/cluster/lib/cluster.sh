# The test cluster's fixed layout and the helpers up, down and check share.
# Sourced, never run.
#
# One cluster per machine at a time: kube-proxy owns the host's KUBE-* iptables
# chains, so two clusters on one host would undo each other's rules. The
# registry directory names the one that runs (its state dir, its owner and
# every process it started), so a later run can tell a live cluster from the
# leftovers of a dead one.

. "$(dirname "${BASH_SOURCE[0]}")/versions.sh"

# The test network: a bridge that only this machine has, pods on it. None of
# these addresses is routed anywhere but to the bridge (see net_* in up).
BRIDGE=harmony-test0
NODE_IP=10.213.0.1          # the bridge's own address: apiserver, kubelet, CoreDNS bind here
POD_CIDR=10.213.0.0/24
SERVICE_CIDR=10.213.1.0/24
KUBERNETES_SVC_IP=10.213.1.1
DNS_SVC_IP=10.213.1.10
KWOK_POD_CIDR=10.213.2.0/24 # fake pod IPs on kwok nodes; never on a wire
FWD_CHAIN=HARMONY-TEST-FWD  # our FORWARD rules, one jump from FORWARD
NODE_NAME=harmony-node
KWOK_NODE_NAME=harmony-kwok-0
APISERVER_PORT=6443

CLUSTER_REGISTRY=${HARMONY_CLUSTER_REGISTRY:-/run/harmony-test-cluster}

log() { printf '%s\n' "$*"; }
die() { printf '%s: %s\n' "${0##*/}" "$*" >&2; exit 1; }

now_ms() { date +%s%3N; }
since() { # start-ms -> "1.234 s"
  local d=$(($(now_ms) - $1))
  printf '%d.%03d s' $((d / 1000)) $((d % 1000))
}

boot_id() { cat /proc/sys/kernel/random/boot_id; }

# Field 22 of /proc/<pid>/stat, counted after the command name (which may hold
# spaces or parentheses), so a recycled pid never matches a record.
proc_start_time() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  set -- $stat
  echo "${20}"
}

# A record is "pid start-time boot-id". Alive means: same boot, and the pid
# still names the process that was started then.
record_of() { echo "$1 $(proc_start_time "$1") $(boot_id)"; }
record_alive() { # "pid start boot"
  local pid start boot
  read -r pid start boot <<<"$1"
  [[ -n $pid && -n $start && $boot == "$(boot_id)" && "$(proc_start_time "$pid" 2>/dev/null)" == "$start" ]] &&
    ! proc_is_zombie "$pid"
}
# An exited process that its parent (often init, for our daemons) has not
# reaped yet: dead for our purposes.
proc_is_zombie() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} == Z ]]
}

# The owner is whoever the cluster is for (the CTest run, or the shell that
# ran `up` by hand); when it is gone, the cluster is a leftover.
registry_owner_alive() {
  [[ -f $CLUSTER_REGISTRY/owner ]] && record_alive "$(cat "$CLUSTER_REGISTRY/owner")"
}

# Waits for a command to succeed, polling; fails after the timeout (seconds).
wait_for() { # timeout description command...
  local timeout=$1 what=$2 deadline
  shift 2
  deadline=$(($(date +%s) + timeout))
  until "$@" >/dev/null 2>&1; do
    if (($(date +%s) >= deadline)); then
      echo "timed out after ${timeout} s waiting for $what" >&2
      return 1
    fi
    sleep 0.2
  done
}

# True when busybox nslookup's output (stdin) has the address as an answer
# (its "Server"/"Address: x:53" lines name the DNS server, not an answer).
nslookup_answers() { grep -Eq "^Address:[[:space:]]+${1//./\\.}\$"; }
