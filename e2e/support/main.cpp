// The main of the end-to-end test binaries: Catch2's, plus skips (skip.hpp).

#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <algorithm>
#include <iostream>

#include "skip.hpp"

namespace harmony::e2e {
namespace {
std::vector<std::string>& reasons() {
  static std::vector<std::string> list;
  return list;
}
}  // namespace

void record_skip(std::string reason) { reasons().push_back(std::move(reason)); }
const std::vector<std::string>& skip_reasons() { return reasons(); }

}  // namespace harmony::e2e

int main(int argc, char* argv[]) {
  Catch::Session session;
  if (int rc = session.applyCommandLine(argc, argv); rc != 0) return rc;
  const int failures = session.run();
  // Catch returns the number of failures (capped at 255): 77 of them must not read as a skip.
  if (failures != 0) return failures == harmony::e2e::skip_exit_code ? 1 : failures;
  const auto& skipped = harmony::e2e::skip_reasons();
  if (skipped.empty()) return 0;
  std::vector<std::string> said;
  for (const auto& reason : skipped)
    if (std::find(said.begin(), said.end(), reason) == said.end()) {
      std::cout << "SKIPPED: " << reason << "\n";
      said.push_back(reason);
    }
  return harmony::e2e::skip_exit_code;
}
