#pragma once
// What a Topology, an Interpret or a smoke test gets for one operation: which
// plugin and component it works for, until when, and where to report
// progress. Interruption (Ctrl-C) is a request they poll.

#include <chrono>
#include <string>
#include <string_view>

namespace harmony {

class Reporter;

using Clock = std::chrono::steady_clock;

struct RunContext {
  std::string plugin;       // "fleet"
  std::string topology;     // "local"
  std::string component;    // "nats"; empty for stack-wide operations
  Clock::time_point deadline = Clock::time_point::max();
  Reporter* reporter = nullptr;
  int verbose = 0;

  // A step worth telling at -v ("writing nats.conf").
  void note(std::string_view text) const;
  // Something the user should know even without -v ("NATS listens on all
  // interfaces, unencrypted").
  void warn(std::string_view text) const;
  [[nodiscard]] bool interrupted() const;
  [[nodiscard]] std::chrono::milliseconds remaining() const;
  [[nodiscard]] bool expired() const { return Clock::now() >= deadline; }
};

}  // namespace harmony
