#!/usr/bin/env bash
# NATS logins through fleet-callout (issue 14), on one nats-server 2.12 (the
# test cluster's build) on loopback, with a test identity provider:
#
#   bench/fleet-callout.sh [LOGINS]
#
#   1. a login's latency through the callout (token validated, user JWT
#      issued) against a password login on the same server   target: < 3x
#   2. logins per second through the callout, 4 clients back to back
#
# Anchor: the password login on the same server; the two kinds of login
# alternate. Measured with the requests sealed by an xkey, as harmony
# deploys the callout, and without.
#
# The floor: bench/callout-floor, a callout on NATS's own Go libraries that
# checks no token and only signs its answers, measured the same way. What it
# costs over a password login is nats-server's part of a callout login, which
# no callout can remove. It is built with Go (cached by its go.sum) when Go
# is on PATH, and skipped, saying so, when it is not.
#
# Exits 1 when the target is missed in harmony's configuration (xkey).
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
require_programs python3
require_built "$build/bench/callout-login-bench" "$build/bin/fleet-callout"
. "$root/e2e/cluster/lib/versions.sh"
nats_server="$CLUSTER_CACHE/nats-server-$NATS_SERVER_VERSION/bin/nats-server"
[ -x "$nats_server" ] || { echo "bench: error: no nats-server $NATS_SERVER_VERSION: run e2e/cluster/build-components nats-server" >&2; exit 2; }
logins=${1:-300}

floor=
if command -v go >/dev/null; then
  src=$root/bench/callout-floor
  key=$(cat "$src/go.sum" "$src/main.go" | sha256sum | cut -c1-16)
  floor=$CLUSTER_CACHE/callout-floor-$key/callout-floor
  if [ ! -x "$floor" ]; then
    echo "building bench/callout-floor (Go modules from the module proxy)..." >&2
    mkdir -p "$(dirname "$floor")"
    (cd "$src" && GOMODCACHE=$CLUSTER_CACHE/go/mod GOFLAGS=-mod=mod go build -o "$floor.new" . && mv "$floor.new" "$floor") ||
      { echo "bench: the floor could not be built; measuring fleet-callout only" >&2; floor=; }
  fi
else
  echo "bench: no Go on PATH: the floor (bench/callout-floor) is not measured" >&2
fi

echo "== logins through an auth callout (nats-server $NATS_SERVER_VERSION, loopback, $logins logins each)"
status=0
"$build/bench/callout-login-bench" "$nats_server" "$build/bin/fleet-callout" "$logins" xkey || status=$?
"$build/bench/callout-login-bench" "$nats_server" "$build/bin/fleet-callout" "$logins" || true
if [ -n "$floor" ]; then
  echo "-- the floor: a callout that checks nothing (NATS's Go libraries)"
  "$build/bench/callout-login-bench" "$nats_server" "$floor" "$logins" xkey || true
  "$build/bench/callout-login-bench" "$nats_server" "$floor" "$logins" || true
fi
exit "$status"
