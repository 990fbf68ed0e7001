#!/usr/bin/env bash
# Builds the wire decoders' libFuzzer target (requests, replies, heartbeats)
# with clang (AddressSanitizer and UBSan) and runs it for a fixed number of
# inputs, starting from the committed seed corpus. A crash, a broken
# round-trip, a leak or a sanitizer report fails (cmake/sanitizers/libfuzzer.sh).
#   run_fuzzer.sh <source-root> <generated-include-dir> [runs]
set -euo pipefail
root=$1
generated=$2
runs=${3:-50000}
. "$root/cmake/sanitizers/libfuzzer.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
here=$root/plugins/harmony-agent/protocol
build_fuzzer "$work/request_fuzzer" -I"$here/include" -I"$root/harmony-core/include" -I"$generated" \
  "$here/fuzz/request_fuzzer.cpp" "$here/src/protocol.cpp" \
  "$root/harmony-core/src/base/error.cpp" "$root/harmony-core/src/base/names.cpp"
mkdir -p "$work/corpus"
cp "$here/fuzz/corpus/"* "$work/corpus/"
# Inputs may grow to a verb line plus the largest request the agent reads
# (64 KiB), and past it, where payload_too_large is decided.
run_fuzzer "$work/request_fuzzer" "$runs" 66000 "$work/corpus"
