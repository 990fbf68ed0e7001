#!/usr/bin/env bash
# SDK benchmarks (issue 3): how fast a plugin built on the SDK answers the
# requests a user waits for at the keyboard.
#
#   bench/sdk.sh [--quick]
#
#   1. harmony-sdktest components             target: median under 10 ms
#   2. a completion request, through harmony   target: median under 10 ms
#      (harmony __complete deploy sdktest --set w: the dispatcher reads the
#      descriptor, runs the plugin's __complete, filters its answer)
# Also shown, for scale: the plugin's own __complete, and a no-change
# redeploy of one component (readiness checks included).
# Prints medians; exits 1 when a target is missed.
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
runs=100
[ "${1:-}" = "--quick" ] && runs=30
require_programs hyperfine
hyperfine=$(command -v hyperfine)
require_built "$build/bin/harmony" "$build/e2e/fixtures/harmony-sdktest" "$build/e2e/fixtures/sdktest-server"

work=$(mktemp -d)
export HOME=$work/home XDG_STATE_HOME=$work/state XDG_CACHE_HOME=$work/cache
mkdir -p "$HOME" "$work/bin"
cp "$build/bin/harmony" "$build/e2e/fixtures/harmony-sdktest" "$build/e2e/fixtures/sdktest-server" "$work/bin/"
export PATH="$work/bin:/usr/bin:/bin"
port=$(free_port)
trap 'harmony destroy sdktest --yes --purge >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

harmony plugin list >/dev/null 2>&1  # the dispatcher's metadata cache, as after any listing
harmony deploy sdktest web --set web.port="$port" >/dev/null

csv=$work/sdk.csv
"$hyperfine" -N --warmup 10 --runs "$runs" --style none --export-csv "$csv" \
  -n components "harmony-sdktest components" \
  -n completion "harmony __complete deploy sdktest --set w" \
  -n plugin-complete "harmony-sdktest __complete deploy --set w" \
  -n redeploy "harmony deploy sdktest web --set web.port=$port" >/dev/null 2>&1
median() { awk -F, -v cmd="$1" 'NR > 1 && $1 == cmd { printf "%.2f", $4 * 1000 }' "$csv"; }
missed=0
check() {  # name label target_ms
  local m
  m=$(median "$1")
  if awk -v v="$m" -v t="$3" 'BEGIN { exit !(v < t) }'; then
    printf '  %-48s %8s ms   target < %s ms: met\n' "$2" "$m" "$3"
  else
    printf '  %-48s %8s ms   target < %s ms: MISSED\n' "$2" "$m" "$3"
    missed=1
  fi
}
echo "== SDK plugin requests (median of $runs runs)"
check components "harmony-sdktest components" 10
check completion "harmony __complete deploy sdktest --set w" 10
printf '  %-48s %8s ms   (the plugin alone)\n' "harmony-sdktest __complete deploy --set w" "$(median plugin-complete)"
printf '  %-48s %8s ms   (no change; smoke test included)\n' "harmony deploy sdktest web (redeploy)" "$(median redeploy)"
exit $missed
