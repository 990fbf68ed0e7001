#!/usr/bin/env bash
# Installs the debs on this machine with dpkg, runs harmony from the
# installed files (plugin list, deploy fleet --topology local, an agent
# ping, destroy), purges them, and compares files and processes before and
# after: nothing may be left but the fleet-agent system user, which Debian
# policy keeps. It changes the system, so it runs only where HARMONY_CI=1
# (.ci/run sets it) and as root; elsewhere it says so and is skipped (77).
#   check-install.sh <build-dir>      (after check-packages.sh)
set -uo pipefail
build=$(cd "$1" && pwd)
skip() { echo "skipped: $*; the debs were NOT installed"; exit 77; }
[ "${HARMONY_CI:-}" = 1 ] || skip "it installs packages system-wide, so it runs only in CI (HARMONY_CI=1)"
[ "$(id -u)" = 0 ] || skip "dpkg -i needs root"
command -v dpkg >/dev/null || skip "no dpkg here"
for p in harmony harmony-fleet harmony-agent fleet-agent harmony-sdk; do
  dpkg -s "$p" >/dev/null 2>&1 && skip "$p is already installed on this machine; it is not ours to remove"
done
set -e
fail() { echo "check-install: $*" >&2; exit 1; }
out=$build/packages
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
packages=(harmony harmony-agent fleet-agent harmony-fleet harmony-sdk)
debs=()
for p in "${packages[@]}"; do debs+=("$(ls "$out/${p}_"*.deb)"); done

# What is on the machine: files under the system's directories (not the
# package manager's own records, caches, logs or temporary files), and the
# programs running from /usr/bin.
snapshot() {
  find /usr /etc /lib /opt /var/lib -xdev \
    \( -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/lib/ucf -o -path /etc/ld.so.cache \
       \) -prune -o -print |
    sort
}
programs() {
  for exe in /proc/[0-9]*/exe; do readlink "$exe" 2>/dev/null; done | grep -E '^/usr/bin/(harmony|fleet-agent|nats-server)' | sort || true
}
snapshot >"$work/files.before"
programs >"$work/programs.before"

dpkg -i "${debs[@]}" >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log" >&2; fail "dpkg -i failed"; }
echo "installed: ${packages[*]}"

getent passwd fleet-agent >/dev/null || fail "no fleet-agent system user"
[ "$(stat -c %a:%U /var/lib/fleet-agent/credentials)" = "700:fleet-agent" ] || fail "the credentials directory is not 0700 fleet-agent"
grep -q /etc/fleet-agent/agent.yaml <<<"$(dpkg-query -W -f='${Conffiles}\n' fleet-agent)" || fail "agent.yaml is not a registered conffile"
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify /lib/systemd/system/fleet-agent.service || fail "systemd-analyze verify on the installed unit"
  echo "systemd-analyze verify: the installed fleet-agent.service is valid (man page found)"
fi
man -w harmony >/dev/null 2>&1 || [ -f /usr/share/man/man1/harmony.1.gz ] || fail "man harmony is not installed"

# The installed files, for a user with an empty home.
export HOME=$work/home XDG_STATE_HOME=$work/state XDG_CACHE_HOME=$work/cache
mkdir -p "$HOME"
export PATH=/usr/bin:/bin:/usr/sbin:/sbin
list=$(harmony plugin list)
grep -Eq '^fleet +0\.1\.0 +Deploys the fleet' <<<"$list" || fail "harmony plugin list: $list"
grep -Eq '^agent +0\.1\.0 +Talks to the fleet' <<<"$list" || fail "harmony plugin list: $list"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
harmony deploy fleet --topology local --set nats.client_port="$(port)" --set nats.monitor_port="$(port)" >"$work/deploy.log" 2>&1 ||
  { cat "$work/deploy.log" >&2; fail "harmony deploy fleet --topology local failed from the installed files"; }
grep -q "agent: ready" "$work/deploy.log" || fail "deploy did not report the agent ready"
[ "$(readlink "/proc/$(pgrep -n -x fleet-agent)/exe")" = /usr/bin/fleet-agent ] || fail "the agent does not run from /usr/bin"
harmony agent ping edge-1 >/dev/null || fail "harmony agent ping edge-1 failed"
harmony destroy fleet --yes --purge >/dev/null || fail "harmony destroy fleet failed"
echo "from the installed files: plugin list, deploy fleet --topology local, agent ping, destroy"

dpkg -P "${packages[@]}" >"$work/purge.log" 2>&1 || { cat "$work/purge.log" >&2; fail "dpkg -P failed"; }
snapshot >"$work/files.after"
programs >"$work/programs.after"
if ! diff -u "$work/files.before" "$work/files.after" >"$work/files.diff"; then
  cat "$work/files.diff" >&2
  fail "files changed between before the install and after the purge"
fi
diff -u "$work/programs.before" "$work/programs.after" || fail "programs from the packages still run after the purge"
getent passwd fleet-agent >/dev/null && echo "after purge: no file and no process left; the fleet-agent system user stays, as Debian policy wants"
exit 0
