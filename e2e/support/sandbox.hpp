#pragma once
// End-to-end test support: a temporary directory with its own HOME, cache and
// PATH, real plugin files in it, and the real `harmony` binary run inside it
// with a scrubbed environment (nothing of the caller's HARMONY_*, PATH or
// HOME leaks in).

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include <harmony/base/process.hpp>

namespace harmony::e2e {

namespace fs = std::filesystem;

// The built harmony binary and fixture directory (set by CMake).
std::string harmony_binary();
std::string fixture(std::string_view name);  // path of fixture-<name>

class Sandbox {
 public:
  Sandbox();
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  [[nodiscard]] std::string path(std::string_view relative) const;
  // Creates a directory (and parents) with `mode`.
  std::string dir(std::string_view relative, fs::perms mode = fs::perms(0755));
  // Copies fixture-<name> to <dir>/<file_name>; returns its path.
  std::string install(std::string_view fixture_name, std::string_view dir, std::string_view file_name);
  // Writes a file with `mode`; returns its path.
  std::string write(std::string_view dir, std::string_view file_name, std::string_view content,
                    fs::perms mode = fs::perms(0755));
  // A shell-script plugin that prints {"exe": "$0", "args": [...]} (args joined
  // by spaces, enough for tests), after `extra` lines.
  std::string script(std::string_view dir, std::string_view file_name, std::string_view description = {},
                     std::string_view extra = {});

  // Directories (relative to the sandbox, or absolute) that make up PATH.
  std::vector<std::string> path_dirs;
  // Extra variables for the next runs.
  std::vector<std::pair<std::string, std::string>> vars;

  [[nodiscard]] base::Environment environment() const;
  base::ProcessResult harmony(const std::vector<std::string>& args, std::string_view stdin_data = {}) const;
  // Any program, in the sandbox's environment (bash, zsh, fish, script).
  base::ProcessResult run(const std::vector<std::string>& argv, std::string_view stdin_data = {}) const;

 private:
  std::string root_;
};

// The one JSON document on stdout; fails the test if it is not one.
nlohmann::json json_of(const base::ProcessResult& result);
// Lines of a text.
std::vector<std::string> lines(const std::string& text);

}  // namespace harmony::e2e
