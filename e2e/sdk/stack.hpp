#pragma once
// A sandbox with harmony, the SDK's test plugin and its server on PATH, free
// ports for its components, and everything destroyed at the end.

#include <catch2/catch.hpp>

#include <harmony/base/process.hpp>

#include "sandbox.hpp"

namespace harmony::e2e {

struct Stack {
  Sandbox box;
  std::uint16_t web_port = Sandbox::free_port();
  std::uint16_t worker_port = Sandbox::free_port();

  Stack() {
    box.make_dir("hbin");
    fs::create_symlink(harmony_binary(), box.path("hbin/harmony"));
    box.install_program(fixture_file("harmony-sdktest"));
    box.install_program(fixture_file("sdktest-server"));
    box.path_dirs = {"hbin", "bin", "/usr/bin", "/bin"};
  }
  ~Stack() {
    try {
      (void)box.run({"harmony", "destroy", "sdktest", "--yes", "--purge"});
      (void)box.run({"harmony", "destroy", "sdktest", "--yes", "--purge", "--topology", "directory"});
    } catch (...) {
    }
  }
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  [[nodiscard]] std::string web() const { return "web.port=" + std::to_string(web_port); }
  [[nodiscard]] std::string worker() const { return "worker.port=" + std::to_string(worker_port); }

  // `harmony <args>` in the sandbox.
  [[nodiscard]] base::ProcessResult harmony(const std::vector<std::string>& args) const {
    std::vector<std::string> argv{"harmony"};
    argv.insert(argv.end(), args.begin(), args.end());
    return box.run(argv);
  }
  // `harmony deploy sdktest <args> --set <both ports>`.
  [[nodiscard]] base::ProcessResult deploy(std::vector<std::string> args = {}) const {
    std::vector<std::string> argv{"deploy", "sdktest"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"--set", web(), "--set", worker()});
    return harmony(argv);
  }
};

}  // namespace harmony::e2e
