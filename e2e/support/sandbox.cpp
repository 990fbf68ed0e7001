#include "sandbox.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>

namespace harmony::e2e {

std::string harmony_binary() { return HARMONY_E2E_HARMONY; }
std::string fixture(std::string_view name) { return std::string(HARMONY_E2E_FIXTURES) + "/fixture-" + std::string(name); }

Sandbox::Sandbox() {
  std::string pattern = (fs::temp_directory_path() / "harmony-e2e-XXXXXX").string();
  REQUIRE(::mkdtemp(pattern.data()) != nullptr);
  root_ = fs::canonical(pattern).string();
  dir("home");
  dir("cache");
}

Sandbox::~Sandbox() {
  // Tests make directories unreadable or world-writable; undo before removing.
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root_, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
  }
  fs::permissions(root_, fs::perms::owner_all, fs::perm_options::add, ec);
  for (const auto& entry : fs::directory_iterator(root_, ec))
    if (entry.is_directory(ec)) fs::permissions(entry.path(), fs::perms::owner_all, fs::perm_options::add, ec);
  fs::remove_all(root_, ec);
}

std::string Sandbox::path(std::string_view relative) const {
  if (!relative.empty() && relative.front() == '/') return std::string(relative);
  return root_ + "/" + std::string(relative);
}

std::string Sandbox::dir(std::string_view relative, fs::perms mode) {
  std::string p = path(relative);
  fs::create_directories(p);
  fs::permissions(p, mode);
  return p;
}

std::string Sandbox::install(std::string_view fixture_name, std::string_view dir_name, std::string_view file_name) {
  fs::path d = path(dir_name);
  if (!fs::exists(d)) dir(dir_name);
  std::string target = (d / std::string(file_name)).string();
  fs::copy_file(fixture(fixture_name), target, fs::copy_options::overwrite_existing);
  fs::permissions(target, fs::perms(0755));
  return target;
}

std::string Sandbox::write(std::string_view dir_name, std::string_view file_name, std::string_view content,
                           fs::perms mode) {
  fs::path d = path(dir_name);
  if (!fs::exists(d)) dir(dir_name);
  std::string target = (d / std::string(file_name)).string();
  {
    std::ofstream out(target, std::ios::binary | std::ios::trunc);
    out << content;
  }
  fs::permissions(target, mode);
  return target;
}

std::string Sandbox::script(std::string_view dir_name, std::string_view file_name, std::string_view description,
                            std::string_view extra) {
  std::string body = "#!/bin/sh\n";
  if (!description.empty()) body += "# harmony-description: " + std::string(description) + "\n";
  body += std::string(extra);
  body += "printf '{\"exe\":\"%s\",\"args\":\"%s\"}\\n' \"$0\" \"$*\"\n";
  return write(dir_name, file_name, body);
}

base::Environment Sandbox::environment() const {
  base::Environment env;
  std::string path_list;
  for (const auto& d : path_dirs) path_list += (path_list.empty() ? "" : ":") + (d.empty() || d == "." ? d : path(d));
  env.set("PATH", path_list);
  env.set("HOME", path("home"));
  env.set("XDG_CACHE_HOME", path("cache"));
  env.set("LC_ALL", "C");
  for (const auto& [name, value] : vars) env.set(name, value);
  return env;
}

base::ProcessResult Sandbox::run(const std::vector<std::string>& argv, std::string_view stdin_data) const {
  base::ProcessSpec spec;
  spec.argv = argv;
  spec.env = environment();
  spec.cwd = root_;
  spec.timeout = std::chrono::seconds(60);
  spec.output_limit = 16 * 1024 * 1024;
  if (!stdin_data.empty()) {
    spec.stdin_mode = base::StdinMode::data;
    spec.stdin_data = std::string(stdin_data);
  }
  auto result = base::run_process(spec);
  INFO("could not run " << argv.front() << ": " << (result ? "" : result.error().message + " " + result.error().reason));
  REQUIRE(result);
  REQUIRE(result->end != base::ProcessResult::End::timed_out);
  return *result;
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

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace harmony::e2e
