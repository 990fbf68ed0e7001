#pragma once
// End-to-end test support: the SDK's test sandbox (harmony/testing.hpp) with
// Catch2 assertions, the built binaries and the fixtures. Runs use a scrubbed
// environment: nothing of the caller's HARMONY_*, PATH or HOME leaks in.

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <harmony/testing.hpp>

namespace harmony::e2e {

namespace fs = std::filesystem;

// The built harmony binary, and the fixtures (set by CMake).
std::string harmony_binary();
std::string harmony_agent_binary();
std::string harmony_fleet_binary();
std::string fleet_agent_binary();
std::string fleet_operator_binary();
std::string fleet_callout_binary();
std::string fixture(std::string_view name);  // path of fixture-<name>
std::string fixture_file(std::string_view file_name);  // any file of the fixture directory

class Sandbox : public testing::Sandbox {
 public:
  explicit Sandbox(std::string_view prefix = "harmony-sandbox");  // PATH starts empty: each test says what is on it

  std::string dir(std::string_view relative, fs::perms mode = fs::perms(0755)) {
    return make_dir(relative, static_cast<unsigned>(mode));
  }
  // Copies fixture-<name> to <dir>/<file_name>.
  std::string install(std::string_view fixture_name, std::string_view dir_name, std::string_view file_name) {
    return testing::Sandbox::install(fixture(fixture_name), dir_name, file_name);
  }
  // Copies any program (a built plugin, a server) into bin/.
  std::string install_program(const std::string& program) { return testing::Sandbox::install(program); }
  std::string write(std::string_view dir_name, std::string_view file_name, std::string_view content,
                    fs::perms mode = fs::perms(0755)) {
    return testing::Sandbox::write(dir_name, file_name, content, static_cast<unsigned>(mode));
  }
  // A shell-script plugin that prints {"exe": "$0", "args": "..."}, after `extra` lines.
  std::string script(std::string_view dir, std::string_view file_name, std::string_view description = {},
                     std::string_view extra = {});

  base::ProcessResult harmony(const std::vector<std::string>& args, std::string_view stdin_data = {}) const;
  base::ProcessResult run(const std::vector<std::string>& argv, std::string_view stdin_data = {}) const;
};

// The shared libraries a binary needs (its DT_NEEDED entries, via readelf).
std::vector<std::string> needed_libraries(const std::string& binary);

// Running, and not a zombie nobody has reaped.
inline bool alive(int pid) {
  auto id = base::identify_process(pid);
  return id && base::check_process(*id) == base::Liveness::running;
}

// The one JSON document on stdout; fails the test if it is not one.
nlohmann::json json_of(const base::ProcessResult& result);
std::vector<std::string> lines(const std::string& text);

}  // namespace harmony::e2e
