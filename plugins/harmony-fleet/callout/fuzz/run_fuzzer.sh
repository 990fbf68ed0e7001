#!/usr/bin/env bash
# Builds fleet-callout's decoders' libFuzzer target with clang
# (AddressSanitizer and UBSan) and runs it for a fixed number of inputs:
# authorization requests (plain, sealed, and valid ones with spliced bytes),
# NATS JWTs, nkeys, JWKS documents and tokens. A crash, a sanitizer report,
# a leak, or a mangled request that verifies fails. Leak checking needs
# ptrace; where it is forbidden the run goes on without it and says so.
#   run_fuzzer.sh <source-root> <generated-include-dir> [runs]
set -euo pipefail
root=$1
generated=$2
runs=${3:-20000}
command -v clang++ >/dev/null || { echo "run_fuzzer.sh: clang++ is missing (scripts/install-deps installs it)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
here=$root/plugins/harmony-fleet/callout
clang++ -std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$here/include" -I"$root/harmony-core/include" -I"$generated" \
  "$here/fuzz/callout_fuzzer.cpp" "$here/src/nkeys.cpp" "$here/src/jwt.cpp" "$here/src/authorization.cpp" "$here/src/oidc.cpp" \
  "$root/harmony-core/src/base/error.cpp" "$root/harmony-core/src/base/text.cpp" \
  -lsodium -lcrypto -o "$work/callout_fuzzer" 2>"$work/build.log" || { tail -30 "$work/build.log" >&2; exit 1; }
mkdir -p "$work/corpus"
fuzz() { ASAN_OPTIONS=detect_leaks=$1 "$work/callout_fuzzer" -runs="$runs" -max_len=70000 -seed=1 "$work/corpus" 2>"$work/log"; }
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
