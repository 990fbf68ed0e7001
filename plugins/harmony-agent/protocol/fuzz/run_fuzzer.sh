#!/usr/bin/env bash
# Builds the wire decoders' libFuzzer target (requests, replies, heartbeats)
# with clang (AddressSanitizer and UBSan) and runs it for a fixed number of
# inputs, starting from the committed seed corpus. A crash, a broken
# round-trip, a leak or a sanitizer report fails. Leak checking needs ptrace,
# which some CI sandboxes forbid: there the run goes on without it and says
# so, rather than claiming a check it did not make.
#   run_fuzzer.sh <source-root> <generated-include-dir> [runs]
set -euo pipefail
root=$1
generated=$2
runs=${3:-50000}
command -v clang++ >/dev/null || { echo "run_fuzzer.sh: clang++ is missing (scripts/install-deps installs it)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
here=$root/plugins/harmony-agent/protocol
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$here/include" -I"$root/harmony-core/include" -I"$generated" \
  "$here/fuzz/request_fuzzer.cpp" "$here/src/protocol.cpp" \
  "$root/harmony-core/src/base/error.cpp" "$root/harmony-core/src/base/names.cpp" \
  -o "$work/request_fuzzer"
mkdir -p "$work/corpus"
cp "$here/fuzz/corpus/"* "$work/corpus/"
# Inputs may grow to a verb line plus the largest request the agent reads
# (64 KiB), and past it, where payload_too_large is decided.
fuzz() { ASAN_OPTIONS=detect_leaks=$1 "$work/request_fuzzer" -runs="$runs" -max_len=66000 -seed=1 "$work/corpus" 2>"$work/log"; }
leaks=checked
if ! fuzz 1; then
  if grep -q 'LeakSanitizer has encountered a fatal error' "$work/log"; then
    leaks="not checked: LeakSanitizer cannot run here (it needs ptrace)"
    fuzz 0 || { tail -40 "$work/log" >&2; exit 1; }
  else
    tail -40 "$work/log" >&2
    exit 1
  fi
fi
echo "$(tail -1 "$work/log"); leaks $leaks"
