#pragma once
// Semantic versions (https://semver.org): parsing and precedence, for
// "requires harmony >= X" checks and plugin listings.

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace harmony::base {

struct Version {
  std::uint64_t major = 0, minor = 0, patch = 0;
  std::string prerelease;  // without the leading '-'; build metadata is dropped

  static std::optional<Version> parse(std::string_view text);
  [[nodiscard]] std::string str() const;
  // SemVer precedence: 1.0.0-rc.1 < 1.0.0; build metadata is ignored.
  friend std::strong_ordering operator<=>(const Version& a, const Version& b);
  friend bool operator==(const Version& a, const Version& b) { return (a <=> b) == 0; }
};

}  // namespace harmony::base
