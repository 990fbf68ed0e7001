#pragma once
// Timestamps as harmony prints them: RFC 3339, UTC, whole seconds
// ("2026-11-26T22:14:59Z").

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace harmony::base {

std::string rfc3339(std::chrono::system_clock::time_point time);
inline std::string rfc3339_now() { return rfc3339(std::chrono::system_clock::now()); }

// The reverse of rfc3339 (UTC, "Z"; fractions of a second are ignored).
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view text);

// "30s", "500ms", "2m", "1h"; a bare number is seconds. nullopt otherwise.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
// The reverse, with the largest unit that is exact: "30s", "2m", "500ms".
std::string format_duration(std::chrono::milliseconds duration);

}  // namespace harmony::base
