#include "sandbox.hpp"

#include <catch2/catch.hpp>

#include <harmony/base/text.hpp>

namespace harmony::e2e {

std::string harmony_binary() { return HARMONY_E2E_HARMONY; }
std::string harmony_agent_binary() { return HARMONY_E2E_HARMONY_AGENT; }
std::string harmony_fleet_binary() { return HARMONY_E2E_HARMONY_FLEET; }
std::string fleet_agent_binary() { return HARMONY_E2E_FLEET_AGENT; }
std::string fleet_operator_binary() { return HARMONY_E2E_FLEET_OPERATOR; }
std::string fleet_callout_binary() { return HARMONY_E2E_FLEET_CALLOUT; }
std::string fixture(std::string_view name) { return fixture_file("fixture-" + std::string(name)); }
std::string fixture_file(std::string_view file_name) { return std::string(HARMONY_E2E_FIXTURES) + "/" + std::string(file_name); }

Sandbox::Sandbox(std::string_view prefix) : testing::Sandbox(prefix) { path_dirs.clear(); }

std::string Sandbox::script(std::string_view dir_name, std::string_view file_name, std::string_view description,
                            std::string_view extra) {
  std::string body = "#!/bin/sh\n";
  if (!description.empty()) body += "# harmony-description: " + std::string(description) + "\n";
  body += std::string(extra);
  body += "printf '{\"exe\":\"%s\",\"args\":\"%s\"}\\n' \"$0\" \"$*\"\n";
  return write(dir_name, file_name, body);
}

base::ProcessResult Sandbox::run(const std::vector<std::string>& argv, std::string_view stdin_data) const {
  try {
    return testing::Sandbox::run(argv, stdin_data, std::chrono::seconds(60));
  } catch (const std::exception& e) {
    FAIL(e.what());
    throw;
  }
}

base::ProcessResult Sandbox::harmony(const std::vector<std::string>& args, std::string_view stdin_data) const {
  std::vector<std::string> argv{harmony_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv, stdin_data);
}

nlohmann::json json_of(const base::ProcessResult& result) {
  INFO("stdout: " << result.out << "\nstderr: " << result.err);
  auto doc = nlohmann::json::parse(result.out, nullptr, false);
  REQUIRE_FALSE(doc.is_discarded());
  return doc;
}

std::vector<std::string> lines(const std::string& text) { return base::split_lines(text); }

std::vector<std::string> needed_libraries(const std::string& binary) {
  Sandbox box;
  box.path_dirs = {"/usr/bin", "/bin"};
  auto r = box.run({"readelf", "--dynamic", "--wide", binary});
  REQUIRE(r.ok());
  std::vector<std::string> needed;
  for (const auto& line : lines(r.out)) {
    auto open = line.find("Shared library: [");
    if (open == std::string::npos) continue;
    auto start = open + 17;
    needed.push_back(line.substr(start, line.find(']', start) - start));
  }
  return needed;
}

}  // namespace harmony::e2e
