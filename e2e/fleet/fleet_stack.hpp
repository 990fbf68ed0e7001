#pragma once
// The fleet, deployed for real on `local` by the real binaries (harmony,
// harmony-fleet, fleet-agent, harmony-agent, nats-server), in a sandbox of
// its own: free ports chosen now, state under the sandbox, so that parallel
// test runs cannot collide. One stack is shared by the tests of a binary;
// each test takes it through ready(), which brings it back to its settings
// whatever the test before it left.

#include <cstdint>
#include <string>
#include <vector>

#include <harmony/base/process.hpp>

#include "sandbox.hpp"

namespace harmony::e2e {

class FleetStack {
 public:
  FleetStack();
  ~FleetStack();
  FleetStack(const FleetStack&) = delete;
  FleetStack& operator=(const FleetStack&) = delete;

  // The stack every test of this binary uses: created, and deployed, on first use.
  static FleetStack& shared();
  // shared(), deployed again with the stack's settings, so that it is up
  // (a no-change deploy when it already was). Fails the test when it cannot.
  static FleetStack& ready();

  Sandbox box{"harmony-fleet-e2e"};
  base::ProcessResult first_deploy;  // of shared(): the cold deploy
  std::uint16_t client_port;
  std::uint16_t monitor_port;

  // `harmony <args>` in the sandbox.
  [[nodiscard]] base::ProcessResult harmony(const std::vector<std::string>& args) const;
  // `harmony deploy fleet <args>` with the stack's ports and two agents.
  [[nodiscard]] base::ProcessResult deploy(const std::vector<std::string>& args = {}) const;
  // The stack's settings, as --set arguments.
  [[nodiscard]] std::vector<std::string> settings() const;
  // The fleet's local state directory, and a credential's content.
  [[nodiscard]] std::string state(const std::string& relative) const;
  [[nodiscard]] std::string secret(const std::string& name) const;
  // The recorded pid of a process of a component.
  [[nodiscard]] int pid_of(const std::string& component, const std::string& process) const;

  // Stops and removes what earlier runs left behind (their test process is gone).
  static void clean_leftovers();
};

}  // namespace harmony::e2e
