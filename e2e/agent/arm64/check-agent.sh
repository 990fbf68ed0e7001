#!/usr/bin/env bash
# End to end, for a fleet-agent built for another architecture: the agent runs
# under an emulator (qemu-user) against a real nats-server on 127.0.0.1, and
# this machine's harmony-agent pings it, reads its status, runs an
# allowlisted command on it (output and exit status checked), has a command
# off the allowlist refused, hears its heartbeats, and stops it with SIGTERM
# (it must drain and exit 0). scripts/build-arm64 runs it; by hand:
#
#   check-agent.sh <fleet-agent> <harmony-agent> [emulator and its arguments...]
#   check-agent.sh build-arm64/bin/fleet-agent build/bin/harmony-agent qemu-aarch64 -L <sysroot>
#
# The NATS users are the fleet's (docs/agent.md, "NATS permissions"): an
# operator, and an agent allowed only its own subjects. Everything listens
# on 127.0.0.1 only; every wait is bounded; whatever this starts is stopped
# on exit. Exit 0 when every check passed, 1 otherwise.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: check-agent.sh <fleet-agent> <harmony-agent> [emulator args...]" >&2; exit 2; }
agent_binary=$1 harmony_agent=$2
shift 2
emulator=("$@")
id=arm64-check
fail() { echo "check-agent: FAILED: $*" >&2; exit 1; }
ok() { echo "check-agent: ok: $*"; }

for program in nats-server "$harmony_agent" "$agent_binary"; do
  command -v "$program" >/dev/null || fail "$program is not there (nats-server: apt-get install nats-server)"
done

machine=$(readelf -h "$agent_binary" | sed -n 's/^ *Machine: *//p')
echo "check-agent: fleet-agent: $machine${emulator[*]:+, run by ${emulator[*]}}"

work=$(mktemp -d)
nats_pid='' agent_pid=''
stop() {  # pid: SIGTERM, then SIGKILL after 10 s
  local pid=$1 i
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local status=$?
  stop "$agent_pid"
  stop "$nats_pid"
  if [ "$status" != 0 ]; then
    echo "--- fleet-agent's log" >&2; cat "$work/agent.log" >&2 2>/dev/null || true
    echo "--- nats-server's log" >&2; tail -n 30 "$work/nats.log" >&2 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# wait_for <seconds> <what> <command...>: polls the command until it succeeds.
wait_for() {
  local seconds=$1 what=$2 deadline
  shift 2
  deadline=$((SECONDS + seconds))
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || fail "$what: not within ${seconds}s"
    sleep 0.2
  done
}

secret() { head -c 24 /dev/urandom | base64 | tr -d '/+='; }
operator_password=$(secret) agent_password=$(secret)
(umask 077
 printf '%s\n' "$operator_password" >"$work/operator.password"
 printf '%s\n' "$agent_password" >"$work/agent.password")

cat >"$work/nats.conf" <<EOF
listen: "127.0.0.1:-1"
authorization {
  users = [
    { user: "operator", password: "$operator_password" }
    { user: "agent-$id", password: "$agent_password",
      permissions: {
        publish: { allow: ["heartbeat.$id"] }
        subscribe: { allow: ["device-commands.$id.>", "_INBOX.$id.>"] }
        allow_responses: true
      } }
  ]
}
EOF
nats-server -c "$work/nats.conf" >"$work/nats.log" 2>&1 &
nats_pid=$!
nats_listening() {
  kill -0 "$nats_pid" 2>/dev/null || fail "nats-server exited: $(tail -n 5 "$work/nats.log")"
  grep -q 'Listening for client connections on 127.0.0.1:' "$work/nats.log"
}
wait_for 20 "nats-server listening" nats_listening
port=$(sed -n 's/.*Listening for client connections on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$work/nats.log" | head -n 1)
url=nats://127.0.0.1:$port

# /bin/sh runs only with this exact script: its output and exit status are
# what exec must bring back.
cat >"$work/agent.yaml" <<EOF
device_id: $id
nats:
  urls: ["$url"]
  user: agent-$id
  password_file: "$work/agent.password"
labels:
  arch: emulated
exec:
  allow: [/bin/echo]
  allow_args:
    /bin/sh:
      - ["-c", "echo out from the device; echo err from the device >&2; exit 3"]
heartbeat:
  interval: 1s
logs:
  level: debug
EOF
chmod 600 "$work/agent.yaml"
"${emulator[@]}" "$agent_binary" --config "$work/agent.yaml" >"$work/agent.log" 2>&1 &
agent_pid=$!

flags=(--server "$url" --user operator --password-file "$work/operator.password" --timeout 5s)
ha() { "$harmony_agent" "$1" "${flags[@]}" "${@:2}"; }
# ha_exec <args...> -- <command...>: harmony-agent's own flags go before the --.
ha_exec() {
  local before=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do before+=("$1"); shift; done
  "$harmony_agent" exec "${flags[@]}" "${before[@]}" "$@"
}

answers_ping() {
  kill -0 "$agent_pid" 2>/dev/null || fail "fleet-agent exited before answering a ping"
  ha ping "$id" >"$work/ping.out" 2>&1
}
# Emulated start-up (and a loaded machine) is slow: a minute at most.
wait_for 60 "fleet-agent answering ping" answers_ping
ok "ping: $(head -n 1 "$work/ping.out")"
ha ping "$id" -o json >"$work/ping.json" || fail "ping -o json: $(cat "$work/ping.json")"
grep -q '"arch": *"emulated"' "$work/ping.json" || fail "ping's reply lacks the agent's labels: $(cat "$work/ping.json")"
ok "ping -o json carries the agent's labels"

ha status "$id" >"$work/status.out" 2>&1 || fail "status: $(cat "$work/status.out")"
grep -q '/bin/echo' "$work/status.out" || fail "status does not list the allowlist: $(cat "$work/status.out")"
ok "status lists the allowlist"

status=0
ha_exec "$id" -- /bin/echo hello from "$id" >"$work/echo.out" 2>"$work/echo.err" || status=$?
[ "$status" = 0 ] || fail "exec /bin/echo exited $status: $(cat "$work/echo.out" "$work/echo.err")"
[ "$(cat "$work/echo.out")" = "hello from $id" ] || fail "exec /bin/echo printed '$(cat "$work/echo.out")'"
ok "exec /bin/echo: its output, status 0"

status=0
ha_exec "$id" -- /bin/sh -c "echo out from the device; echo err from the device >&2; exit 3" \
  >"$work/sh.out" 2>"$work/sh.err" || status=$?
[ "$status" = 3 ] || fail "exec /bin/sh (exit 3) made harmony-agent exit $status: $(cat "$work/sh.out" "$work/sh.err")"
[ "$(cat "$work/sh.out")" = "out from the device" ] || fail "exec /bin/sh: stdout was '$(cat "$work/sh.out")'"
grep -q 'err from the device' "$work/sh.err" || fail "exec /bin/sh: stderr was '$(cat "$work/sh.err")'"
ok "exec /bin/sh: stdout, stderr, and the remote exit status 3"

touch "$work/victim"
status=0
ha_exec "$id" -- /bin/rm "$work/victim" >"$work/rm.out" 2>&1 || status=$?
[ "$status" = 13 ] || fail "exec /bin/rm (not allowed) exited $status, not 13: $(cat "$work/rm.out")"
grep -q 'not_allowed' "$work/rm.out" || fail "exec /bin/rm: no not_allowed in '$(cat "$work/rm.out")'"
[ -f "$work/victim" ] || fail "exec /bin/rm ran although it is not allowed"
ok "exec /bin/rm: refused, not_allowed, status 13"

# Heartbeats travel on heartbeat.<id> here (no JetStream): list hears them.
hears_heartbeat() { ha list >"$work/list.out" 2>&1 && grep -q "$id" "$work/list.out"; }
wait_for 30 "a heartbeat in harmony-agent list" hears_heartbeat
ok "list: the agent's heartbeats arrive"

kill -TERM "$agent_pid"
exited() { ! kill -0 "$agent_pid" 2>/dev/null; }
wait_for 30 "fleet-agent stopping on SIGTERM" exited
status=0
wait "$agent_pid" || status=$?
agent_pid=''
[ "$status" = 0 ] || fail "fleet-agent exited $status on SIGTERM, not 0"
ok "SIGTERM: drained and exited 0"
