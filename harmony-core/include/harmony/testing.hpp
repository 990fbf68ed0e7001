#pragma once
// Test helpers for plugin authors (library harmony::testing): a scratch
// directory with its own HOME, state, cache and PATH, programs run in it with
// a scrubbed environment, and their JSON output read back. Framework-neutral:
// failures of the harness itself throw std::runtime_error.
//
//   harmony::testing::Sandbox box;
//   box.install(MYAPP_PLUGIN_PATH);                 // into <sandbox>/bin, on PATH
//   auto port = harmony::testing::Sandbox::free_port();
//   auto r = box.run({"harmony-myapp", "deploy", "--set", "myapp.port=" + std::to_string(port)});
//   auto status = harmony::testing::parse_json(box.run({"harmony-myapp", "status", "-o", "json"}).out);

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <harmony/base/process.hpp>

namespace harmony::testing {

class Sandbox {
 public:
  // <tmp>/<prefix>-XXXXXX with home/, state/, cache/, bin/
  explicit Sandbox(std::string_view prefix = "harmony-sandbox");
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  [[nodiscard]] const std::string& root() const { return root_; }
  // Relative paths are below the sandbox; absolute ones are kept.
  [[nodiscard]] std::string path(std::string_view relative) const;
  std::string make_dir(std::string_view relative, unsigned mode = 0755);
  // Copies a program into a directory of the sandbox (default bin/, which is
  // on PATH), optionally under another name; returns its new path.
  std::string install(const std::string& program, std::string_view dir = "bin", std::string_view as = {});
  std::string write(std::string_view dir, std::string_view name, std::string_view content, unsigned mode = 0644);

  // PATH for runs: directories relative to the sandbox, or absolute. Starts as
  // {"bin", "/usr/bin", "/bin"}.
  std::vector<std::string> path_dirs;
  // Extra environment variables for runs.
  std::vector<std::pair<std::string, std::string>> vars;

  // HOME, XDG_STATE_HOME, XDG_CACHE_HOME and PATH of the sandbox, LC_ALL=C,
  // and `vars`; nothing else of the caller's environment.
  [[nodiscard]] base::Environment environment() const;

  // Runs a program in the sandbox (cwd = root). Throws when it cannot start
  // or does not finish within `timeout`.
  [[nodiscard]] base::ProcessResult run(const std::vector<std::string>& argv, std::string_view stdin_data = {},
                                        std::chrono::milliseconds timeout = std::chrono::seconds(120)) const;

  // A TCP port on 127.0.0.1 that is free now.
  static std::uint16_t free_port();

 private:
  std::string root_;
};

// One JSON document; throws std::runtime_error with the text if it is not.
nlohmann::json parse_json(const std::string& text);
// One JSON document per line (progress events); empty lines are skipped.
std::vector<nlohmann::json> parse_json_lines(const std::string& text);

}  // namespace harmony::testing
