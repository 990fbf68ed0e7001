#pragma once
// Test support: waits up to six seconds for a condition that becomes true
// asynchronously (a process exiting, a log line appearing).

#include <chrono>
#include <functional>
#include <thread>

namespace harmony::testing {

inline bool eventually(const std::function<bool()>& condition) {
  for (int i = 0; i < 300; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return condition();
}

}  // namespace harmony::testing
