#!/usr/bin/env bash
# Builds fleet-callout's decoders' libFuzzer target with clang
# (AddressSanitizer and UBSan) and runs it for a fixed number of inputs:
# authorization requests (plain, sealed, and valid ones with spliced bytes),
# NATS JWTs, nkeys, JWKS documents and tokens. A crash, a sanitizer report,
# a leak, or a mangled request that verifies fails (cmake/sanitizers/libfuzzer.sh).
#   run_fuzzer.sh <source-root> <generated-include-dir> [runs]
set -euo pipefail
root=$1
generated=$2
runs=${3:-20000}
. "$root/cmake/sanitizers/libfuzzer.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
here=$root/plugins/harmony-fleet/callout
build_fuzzer "$work/callout_fuzzer" -I"$here/include" -I"$root/harmony-core/include" -I"$generated" \
  "$here/fuzz/callout_fuzzer.cpp" "$here/src/nkeys.cpp" "$here/src/jwt.cpp" "$here/src/authorization.cpp" "$here/src/oidc.cpp" \
  "$root/harmony-core/src/base/error.cpp" "$root/harmony-core/src/base/text.cpp" -lsodium -lcrypto
mkdir -p "$work/corpus"
run_fuzzer "$work/callout_fuzzer" "$runs" 70000 "$work/corpus"
