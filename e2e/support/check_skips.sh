#!/usr/bin/env bash
# With nats-server absent, the agent and fleet end-to-end tests must show as
# skipped in CTest's summary, with the reason, never as passed. Runs their
# real registrations (the build's e2e CTestTestfile.cmake) from a scratch
# directory, so that this inner ctest's logs stay out of the build's.
set -euo pipefail
build=$1
work=$(mktemp -d "${TMPDIR:-/tmp}/harmony-check-skips-XXXXXX")
trap 'rm -rf "$work"' EXIT
printf 'include("%s/e2e/CTestTestfile.cmake")\n' "$build" > "$work/CTestTestfile.cmake"

# A path that does not exist: the tests' way to stage nats-server's absence.
status=0
HARMONY_E2E_NATS_SERVER=/nonexistent/nats-server \
  ctest --test-dir "$work" -R '^e2e (agent|fleet):' -E 'k3d' -V > "$work/out" 2>&1 || status=$?
fail() { echo "FAIL: $*"; echo "--- ctest said:"; cat "$work/out"; exit 1; }

[ "$status" = 0 ] || fail "ctest exited $status"
skipped=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#.*\*\*\*Skipped' "$work/out" || true)
# Only the daemon's linking check needs no server; it runs and passes.
passed=$(grep -E '^ *[0-9]+/[0-9]+ Test +#.* Passed' "$work/out" | grep -v 'the daemon links only' || true)
[ -z "$passed" ] || fail "these passed without nats-server: $passed"
total=$(grep -cE '^ *[0-9]+/[0-9]+ Test +#' "$work/out" || true)
[ "$total" -ge 20 ] && [ "$skipped" = $((total - 1)) ] || fail "$skipped of $total tests skipped"
grep -q 'SKIPPED: nats-server is not installed' "$work/out" || fail "no test said why it skipped"
echo "$skipped agent and fleet tests skipped without nats-server, saying why"
