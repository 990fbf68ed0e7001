#pragma once
// Skipping an end-to-end test that cannot run here (Catch2 v2 has no skip).
//
// HARMONY_SKIP(reason) records the reason and leaves the test case. The
// e2e binaries' main (main.cpp) then prints `SKIPPED: <reason>` and exits
// with skip_exit_code when nothing failed, and CTest, told so with
// SKIP_RETURN_CODE, counts the test as skipped, never as passed. A failure
// in the same run wins: the binary exits non-zero as usual.

#include <string>
#include <vector>

namespace harmony::e2e {

inline constexpr int skip_exit_code = 77;  // the GNU convention, as automake's test driver uses it

void record_skip(std::string reason);
[[nodiscard]] const std::vector<std::string>& skip_reasons();

}  // namespace harmony::e2e

#define HARMONY_SKIP(reason)                     \
  do {                                           \
    ::harmony::e2e::record_skip(reason);         \
    return;                                      \
  } while (false)
