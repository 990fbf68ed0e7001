#pragma once
// Timestamps as harmony prints them: RFC 3339, UTC, whole seconds
// ("2026-11-26T22:14:59Z").

#include <chrono>
#include <string>

namespace harmony::base {

std::string rfc3339(std::chrono::system_clock::time_point time);
inline std::string rfc3339_now() { return rfc3339(std::chrono::system_clock::now()); }

}  // namespace harmony::base
