#!/usr/bin/env bash
# Builds the wire decoders' libFuzzer target (requests, replies, heartbeats)
# with clang (AddressSanitizer and UBSan) and runs it for a fixed number of
# inputs, starting from the committed seed corpus. A crash, a broken
# round-trip or a sanitizer report fails. Leaks are not checked: LeakSanitizer
# needs ptrace, which some CI sandboxes forbid.
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
ASAN_OPTIONS=detect_leaks=0 "$work/request_fuzzer" -runs="$runs" -max_len=66000 -seed=1 "$work/corpus" 2>"$work/log" || { tail -40 "$work/log" >&2; exit 1; }
tail -1 "$work/log"
