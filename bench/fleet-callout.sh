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
# Anchor: the password login on the same server. Prints medians and p95;
# exits 1 when the target is missed.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
require_programs python3
require_built "$build/bench/callout-login-bench" "$build/bin/fleet-callout"
. "$root/e2e/cluster/lib/versions.sh"
nats_server="$CLUSTER_CACHE/nats-server-$NATS_SERVER_VERSION/bin/nats-server"
[ -x "$nats_server" ] || { echo "bench: error: no nats-server $NATS_SERVER_VERSION: run e2e/cluster/build-components nats-server" >&2; exit 2; }
echo "== logins through fleet-callout (nats-server $NATS_SERVER_VERSION, loopback)"
exec "$build/bench/callout-login-bench" "$nats_server" "$build/bin/fleet-callout" "${1:-200}"
