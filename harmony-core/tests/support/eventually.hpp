#pragma once
// Test support: waits (six seconds unless told) for a condition that becomes
// true asynchronously (a process exiting, a log line appearing).

#include <chrono>
#include <functional>
#include <thread>

namespace harmony::testing {

inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds wait = std::chrono::seconds(6)) {
  const auto until = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < until) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

}  // namespace harmony::testing
