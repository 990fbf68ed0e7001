#pragma once
// What a Topology, an Interpret or a smoke test gets for one operation: which
// plugin and component it works for, until when, and where to report
// progress. Interruption (Ctrl-C) is a request they poll.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace harmony {

class Reporter;

using Clock = std::chrono::steady_clock;

// One change a deploy would make, found by a dry run (plan).
struct PlannedChange {
  struct Field {
    std::string path;    // "spec.replicas"
    std::string before;  // empty: absent
    std::string after;   // empty: removed; secret values read "(secret)"
  };
  std::string action;    // create, update, delete, none
  std::string what;      // "Deployment shop/web"
  std::vector<Field> fields;
};

struct RunContext {
  std::string plugin;       // "fleet"
  std::string topology;     // "local"
  std::string component;    // "nats"; empty for stack-wide operations
  std::string operation;    // "deploy", "destroy", "plan", "status", "logs"
  Clock::time_point deadline = Clock::time_point::max();
  Reporter* reporter = nullptr;
  int verbose = 0;
  // Set for a dry run (plan) on a topology that can do one: Interprets
  // change nothing and topologies add what would change here.
  std::vector<PlannedChange>* plan = nullptr;

  // A step worth telling at -v ("writing nats.conf").
  void note(std::string_view text) const;
  // Something the user should know even without -v ("NATS listens on all
  // interfaces, unencrypted").
  void warn(std::string_view text) const;
  [[nodiscard]] bool interrupted() const;
  [[nodiscard]] std::chrono::milliseconds remaining() const;
  [[nodiscard]] bool expired() const { return Clock::now() >= deadline; }
  [[nodiscard]] bool dry_run() const { return plan != nullptr; }
};

}  // namespace harmony
