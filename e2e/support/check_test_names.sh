#!/usr/bin/env bash
# CTest splits a discovered Catch2 test name at ';' (its list separator): the
# pieces run as tests that match nothing and fail, far from the cause. No
# TEST_CASE name in the tree may hold one.
set -euo pipefail
root=$1
found=$(grep -rnE 'TEST_CASE\("[^"]*;' --include='*.cpp' "$root/harmony-core" "$root/harmony" "$root/plugins" "$root/e2e" "$root/sdk" || true)
if [ -n "$found" ]; then
  echo "FAIL: these test names hold ';', which CTest would split:"
  echo "$found"
  exit 1
fi
echo "no test name holds ';'"
