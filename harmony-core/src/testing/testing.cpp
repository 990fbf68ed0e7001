#include <harmony/testing.hpp>

#include <arpa/inet.h>
#include <cstdlib>
#include <filesystem>
#include <netinet/in.h>
#include <stdexcept>
#include <sys/socket.h>
#include <unistd.h>

#include <harmony/base/files.hpp>
#include <harmony/base/text.hpp>

namespace harmony::testing {

namespace fs = std::filesystem;

Sandbox::Sandbox(std::string_view prefix) : path_dirs{"bin", "/usr/bin", "/bin"} {
  std::string pattern = (fs::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("cannot create a sandbox directory in /tmp");
  root_ = fs::canonical(pattern).string();
  for (const char* d : {"home", "state", "cache", "bin"}) make_dir(d);
}

Sandbox::~Sandbox() {
  // Tests make directories unreadable or world-writable; undo before removing.
  std::error_code ec;
  fs::permissions(root_, fs::perms::owner_all, fs::perm_options::add, ec);
  for (auto it = fs::recursive_directory_iterator(root_, fs::directory_options::skip_permission_denied, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec))
    if (it->is_directory(ec) && !it->is_symlink(ec)) fs::permissions(it->path(), fs::perms::owner_all, fs::perm_options::add, ec);
  for (const auto& entry : fs::directory_iterator(root_, ec))
    if (entry.is_directory(ec)) fs::permissions(entry.path(), fs::perms::owner_all, fs::perm_options::add, ec);
  fs::remove_all(root_, ec);
}

std::string Sandbox::path(std::string_view relative) const {
  if (!relative.empty() && relative.front() == '/') return std::string(relative);
  if (relative.empty()) return root_;
  return root_ + "/" + std::string(relative);
}

std::string Sandbox::make_dir(std::string_view relative, unsigned mode) {
  const std::string p = path(relative);
  fs::create_directories(p);
  fs::permissions(p, static_cast<fs::perms>(mode));
  return p;
}

std::string Sandbox::install(const std::string& program, std::string_view dir, std::string_view as) {
  if (!fs::exists(path(dir))) make_dir(dir);
  const std::string target = path(dir) + "/" + (as.empty() ? fs::path(program).filename().string() : std::string(as));
  fs::copy_file(program, target, fs::copy_options::overwrite_existing);
  fs::permissions(target, static_cast<fs::perms>(0755));
  return target;
}

std::string Sandbox::write(std::string_view dir, std::string_view name, std::string_view content, unsigned mode) {
  if (!fs::exists(path(dir))) make_dir(dir);
  const std::string target = path(dir) + "/" + std::string(name);
  std::error_code ec;
  fs::remove(target, ec);
  if (auto written = base::write_file_atomically(target, content, static_cast<mode_t>(mode), false); !written)
    throw std::runtime_error("cannot write " + target + ": " + written.error().reason);
  fs::permissions(target, static_cast<fs::perms>(mode));
  return target;
}

base::Environment Sandbox::environment() const {
  base::Environment env;
  std::string list;
  for (const auto& d : path_dirs) list += (list.empty() ? "" : ":") + (d.empty() || d == "." ? d : path(d));
  env.set("PATH", list);
  env.set("HOME", path("home"));
  env.set("XDG_STATE_HOME", path("state"));
  env.set("XDG_CACHE_HOME", path("cache"));
  env.set("LC_ALL", "C");
  for (const auto& [name, value] : vars) env.set(name, value);
  return env;
}

base::ProcessResult Sandbox::run(const std::vector<std::string>& argv, std::string_view stdin_data,
                                 std::chrono::milliseconds timeout) const {
  base::ProcessSpec spec;
  spec.argv = argv;
  spec.env = environment();
  spec.cwd = root_;
  spec.timeout = timeout;
  spec.output_limit = 16 * 1024 * 1024;
  if (!stdin_data.empty()) {
    spec.stdin_mode = base::StdinMode::data;
    spec.stdin_data = std::string(stdin_data);
  }
  auto result = base::run_process(spec);
  if (!result)
    throw std::runtime_error("cannot run " + argv.front() + ": " + result.error().message + ": " + result.error().reason);
  if (result->end == base::ProcessResult::End::timed_out)
    throw std::runtime_error(argv.front() + " " + result->describe() + "\nstdout: " + result->out + "\nstderr: " + result->err);
  return *result;
}

std::uint16_t Sandbox::free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot find a free port");
  }
  ::close(fd);
  return ntohs(address.sin_port);
}

nlohmann::json parse_json(const std::string& text) {
  auto doc = nlohmann::json::parse(text, nullptr, false);
  if (doc.is_discarded()) throw std::runtime_error("not one JSON document:\n" + text);
  return doc;
}

std::vector<nlohmann::json> parse_json_lines(const std::string& text) {
  std::vector<nlohmann::json> out;
  for (const auto& line : base::split_lines(text))
    if (!line.empty()) out.push_back(parse_json(line));
  return out;
}

}  // namespace harmony::testing
