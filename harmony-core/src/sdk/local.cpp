#include <harmony/topologies/local.hpp>

#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>

#include <nlohmann/json.hpp>

#include <harmony/base/files.hpp>
#include <harmony/base/interrupt.hpp>
#include <harmony/base/paths.hpp>
#include <harmony/base/process.hpp>
#include <harmony/base/secrets.hpp>
#include <harmony/base/text.hpp>
#include <harmony/base/time.hpp>
#include <harmony/errors.hpp>

namespace harmony::topologies {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr auto stop_grace = std::chrono::seconds(10);
constexpr auto max_lock_wait = std::chrono::minutes(2);

// Names become path components: keep them plain.
bool safe_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || name.front() == '.' || name.front() == '-') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<int>(static_cast<unsigned char>(c))) || c == '-' || c == '_' || c == '.';
  });
}

base::Error bad_name(std::string_view what, std::string_view name) {
  return base::make_error("invalid " + std::string(what) + " name '" + base::printable(name) + "'",
                          "names are letters, digits, '.', '-' and '_', not starting with '.' or '-'",
                          "this is a bug in the plugin; report it to its authors");
}

std::uint64_t fnv1a(std::string_view data, std::uint64_t hash = 1469598103934665603ull) {
  for (char c : data) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  return hash;
}

std::string hex(std::uint64_t value) {
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(value));
  return buffer;
}

// What identifies the program a process runs: an upgrade changes it.
json program_identity(const std::string& path) {
  std::error_code ec;
  std::string real = fs::canonical(path, ec).string();
  if (ec) real = path;
  struct stat st {};
  if (::stat(real.c_str(), &st) != 0) return {{"path", real}};
  return {{"path", real},
          {"dev", st.st_dev},
          {"ino", st.st_ino},
          {"size", st.st_size},
          {"mtime_ns", static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec}};
}

std::optional<json> read_json(const std::string& path) {
  auto text = base::read_file(path, 4 * 1024 * 1024);
  if (!text) return std::nullopt;
  json doc = json::parse(*text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  return doc;
}

base::expected<void> write_json(const std::string& path, const json& doc) {
  return base::write_file_atomically(path, doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n", 0600);
}

base::ProcessIdentity identity_of(const json& record) {
  return {record.value("pid", 0), record.value("start_ticks", std::uint64_t{0}), record.value("boot_id", std::string())};
}

// Who, if anyone, listens on the port: "in use" when a bind fails.
std::optional<std::string> port_taken(const PortBinding& binding) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // as servers do: TIME_WAIT is not "taken"
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(binding.port);
  if (::inet_pton(AF_INET, binding.address.c_str(), &address.sin_addr) != 1) address.sin_addr.s_addr = htonl(INADDR_ANY);
  const int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  const int err = errno;
  ::close(fd);
  if (rc == 0) return std::nullopt;
  return std::string(std::strerror(err));
}

std::vector<std::string> list_names(const std::string& dir, std::string_view suffix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (!suffix.empty()) {
      if (!name.ends_with(suffix)) continue;
      name.resize(name.size() - suffix.size());
    }
    out.push_back(std::move(name));
  }
  std::sort(out.begin(), out.end());
  return out;
}

// The last `lines` lines of a text (without a final newline).
std::string tail_lines(std::string_view text, std::size_t lines) {
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  std::size_t start = text.size();
  for (std::size_t n = 0; n < lines && start > 0; ++n) {
    auto nl = text.rfind('\n', start - 1);
    start = nl == std::string_view::npos ? 0 : nl;
    if (nl == std::string_view::npos) break;
  }
  if (start > 0 || (start == 0 && !text.empty() && text.front() == '\n')) ++start;
  return std::string(text.substr(std::min(start, text.size())));
}

}  // namespace

Local::Local(const TopologyEnvironment& environment)
    : root_(base::join_path(environment.state_root, "local")), plugin_(environment.plugin) {}

std::string Local::component_dir(std::string_view component) const {
  return base::join_path(base::join_path(root_, "components"), component);
}
std::string Local::file_path(std::string_view component, std::string_view item) const {
  return base::join_path(base::join_path(component_dir(component), "files"), item);
}
std::string Local::credential_path(std::string_view component, std::string_view item) const {
  return base::join_path(base::join_path(base::join_path(root_, "credentials"), component), item);
}
std::string Local::work_dir(std::string_view component) const { return base::join_path(component_dir(component), "work"); }

Endpoint Local::endpoint(std::string_view, std::uint16_t port) const { return {"127.0.0.1", port}; }

base::expected<Outcome> Local::ensure_ready(RunContext& ctx) {
  if (auto made = base::make_directories(root_, 0700); !made) return base::fail(made.error());
  ::chmod(root_.c_str(), 0700);
  if (lock_) return Outcome::no_change("ready");
  const auto wait = std::min<std::chrono::milliseconds>(ctx.remaining(), max_lock_wait);
  base::FileLock::Options options;
  options.wait = wait;
  options.on_wait = [&](int holder) {
    ctx.note("waiting for " + (holder > 0 ? "process " + std::to_string(holder) : std::string("another harmony")) +
             ", which is deploying or destroying " + plugin_ + " on local");
  };
  options.interrupted = [] { return base::interrupt_requested(); };
  auto lock = base::FileLock::acquire(base::join_path(root_, "lock"), options);
  if (!lock) {
    if (lock.error().os_errno == EINTR) return base::fail(interrupted_error());
    return base::fail(error_with(exit_status::lock_held,
                                 "another deploy or destroy of " + plugin_ + " on local is running",
                                 lock.error().reason + "; waited " + std::to_string(wait.count() / 1000) + "s",
                                 "wait for it to finish, then run this again"));
  }
  lock_.emplace(std::move(*lock));
  return Outcome::success("ready");
}

Outcome Local::ensure_process(RunContext& ctx, const ProcessDefinition& definition) {
  if (!safe_name(ctx.component)) return Outcome::failure(bad_name("component", ctx.component));
  if (!safe_name(definition.name)) return Outcome::failure(bad_name("process", definition.name));
  if (definition.argv.empty()) return Outcome::failure(base::make_error("process '" + definition.name + "' has no command"));
  ensured_[ctx.component].insert(definition.name);

  base::Environment env = base::Environment::current();
  for (const auto& [k, v] : definition.env) env.set(k, v);
  std::string program = definition.argv.front();
  if (program.find('/') == std::string::npos) {
    auto found = base::find_program(program, env.get("PATH").value_or("/usr/bin:/bin"));
    if (!found)
      return Outcome::failure(error_with(exit_status::deploy_failed, "cannot run '" + base::printable(program) + "'",
                                         "no program of that name in PATH", "install it, or give its full path"));
    program = *found;
  }

  const std::string dir = component_dir(ctx.component);
  const std::string record_path = base::join_path(base::join_path(dir, "processes"), definition.name + ".json");
  const std::string log_path = base::join_path(base::join_path(dir, "logs"), definition.name + ".log");
  const std::string cwd = definition.cwd.empty() ? work_dir(ctx.component) : definition.cwd;
  for (const auto& d : {base::parent_dir(record_path), base::parent_dir(log_path), cwd})
    if (auto made = base::make_directories(d, 0700); !made) return Outcome::failure(made.error());

  json ports = json::array();
  for (const auto& p : definition.ports) ports.push_back({{"name", p.name}, {"port", p.port}, {"address", p.address}});
  json inputs = json::array();
  for (const auto& input : definition.inputs) {
    auto content = base::read_file(input, 64 * 1024 * 1024);
    inputs.push_back({{"path", input}, {"content", content ? hex(fnv1a(*content)) : "missing"}});
  }
  const json configuration = {{"argv", definition.argv}, {"env", definition.env}, {"cwd", cwd},
                              {"ports", ports},          {"inputs", inputs}};
  const std::string config_hash = hex(fnv1a(configuration.dump()));
  const json program_id = program_identity(program);

  std::string why = "started";
  if (auto old = read_json(record_path)) {
    const base::ProcessIdentity identity = identity_of(*old);
    const base::Liveness liveness = base::check_process(identity);
    if (liveness == base::Liveness::running) {
      const bool same_config = old->value("config_hash", std::string()) == config_hash;
      const bool same_program = old->value("program", json::object()) == program_id;
      if (same_config && same_program)
        return std::move(Outcome::no_change(definition.name + " is running (pid " + std::to_string(identity.pid) + "), unchanged")
                             .detail("pid", std::to_string(identity.pid)));
      why = same_program ? "restarted: its configuration changed" : "restarted: its program changed";
      ctx.note("stopping " + definition.name + " (pid " + std::to_string(identity.pid) + "): " +
               (same_program ? "configuration changed" : "program changed"));
      auto stopped = base::terminate_process(identity, stop_grace);
      if (!stopped) return Outcome::failure(stopped.error());
    } else {
      why = "restarted: it was " + std::string(base::liveness_name(liveness));
    }
  }

  for (const auto& p : definition.ports) {
    if (auto taken = port_taken(p))
      return Outcome::failure(error_with(
          exit_status::port_in_use,
          "port " + std::to_string(p.port) + " (" + p.name + " port of " + ctx.component + ") is already in use",
          p.address + ":" + std::to_string(p.port) + ": " + *taken,
          "stop the program that uses it (see: ss -ltnp 'sport = :" + std::to_string(p.port) +
              "'), or choose another port with --set"));
  }
  if (ctx.interrupted()) return Outcome::failure(interrupted_error());

  // A line in the log marks each start, so `logs` shows where a run begins.
  if (auto written = base::append_file(
          log_path, "--- harmony: starting " + definition.name + " at " + base::rfc3339_now() + " ---\n", 0640);
      !written)
    return Outcome::failure(written.error());

  base::DetachedSpec spec;
  spec.argv = definition.argv;
  spec.argv.front() = program;
  spec.env = env;
  spec.cwd = cwd;
  spec.log_path = log_path;
  std::string started_at = base::rfc3339_now();
  auto identity = base::spawn_detached(spec, [&](const base::ProcessIdentity& id) -> base::expected<void> {
    json record = {{"name", definition.name},       {"component", ctx.component}, {"pid", id.pid},
                   {"start_ticks", id.start_ticks}, {"boot_id", id.boot_id},       {"config_hash", config_hash},
                   {"program", program_id},         {"argv", definition.argv},     {"ports", ports},
                   {"log", log_path},               {"started_at", started_at}};
    return write_json(record_path, record);
  });
  if (!identity) {
    base::Error e = identity.error();
    if (e.status == exit_status::failure || e.status == exit_status::not_found || e.status == exit_status::not_executable)
      e.status = exit_status::deploy_failed;
    return Outcome::failure(std::move(e));
  }
  ctx.note(definition.name + ": pid " + std::to_string(identity->pid));
  return std::move(Outcome::success(definition.name + " " + why + " (pid " + std::to_string(identity->pid) + ")")
                       .detail("pid", std::to_string(identity->pid)));
}

bool Local::processes_running(std::string_view component) const {
  const std::string dir = base::join_path(component_dir(component), "processes");
  auto names = list_names(dir, ".json");
  if (names.empty()) return false;
  for (const auto& item : names) {
    auto record = read_json(base::join_path(dir, item + ".json"));
    if (!record || base::check_process(identity_of(*record)) != base::Liveness::running) return false;
  }
  return true;
}

std::string Local::log_tail(std::string_view component, std::size_t lines) const {
  std::string out;
  auto logs = log_files(component);
  for (const auto& [item, path] : logs) {
    auto text = base::read_file_tail(path, 64 * 1024);
    if (!text) continue;
    const std::string tail = tail_lines(*text, lines);
    const std::string prefix = logs.size() > 1 ? "    " + item + " | " : "    ";
    std::size_t start = 0;
    while (start < tail.size()) {
      auto nl = tail.find('\n', start);
      out += prefix + tail.substr(start, nl == std::string::npos ? std::string::npos : nl - start) + "\n";
      if (nl == std::string::npos) break;
      start = nl + 1;
    }
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out.empty() ? "    (the log is empty)" : base::printable_lines(out);
}

Outcome Local::reload_process(RunContext& ctx, std::string_view component, std::string_view process) {
  if (!safe_name(component)) return Outcome::failure(bad_name("component", component));
  if (!safe_name(process)) return Outcome::failure(bad_name("process", process));
  const std::string record_path =
      base::join_path(base::join_path(component_dir(component), "processes"), std::string(process) + ".json");
  auto record = read_json(record_path);
  if (!record) return Outcome::no_change(std::string(process) + " is not deployed; it reads its configuration when it starts");
  const auto identity = identity_of(*record);
  if (base::check_process(identity) != base::Liveness::running)
    return Outcome::no_change(std::string(process) + " is not running; it reads its configuration when it starts");
  // Only the process we started (same pid, start time and boot) gets the signal.
  if (::kill(identity.pid, SIGHUP) != 0)
    return Outcome::failure(base::os_error(errno, "cannot ask " + std::string(process) + " to reload"));
  ctx.note("asked " + std::string(process) + " (pid " + std::to_string(identity.pid) + ") to reload its configuration");
  return Outcome::success("reloaded " + std::string(process) + " (pid " + std::to_string(identity.pid) + ")");
}

std::vector<std::pair<std::string, std::string>> Local::log_files(std::string_view component) const {
  std::vector<std::pair<std::string, std::string>> out;
  const std::string dir = base::join_path(component_dir(component), "logs");
  for (const auto& item : list_names(dir, ".log")) out.emplace_back(item, base::join_path(dir, item + ".log"));
  return out;
}

base::expected<FileResult> Local::ensure_file(RunContext& ctx, const FileDefinition& file) {
  if (!safe_name(ctx.component)) return base::fail(bad_name("component", ctx.component));
  if (!safe_name(file.name)) return base::fail(bad_name("file", file.name));
  const bool secret = file.kind == FileKind::credential;
  const bool published = file.kind == FileKind::published;
  const std::string path = secret      ? credential_path(ctx.component, file.name)
                           : published ? base::join_path(root_, file.name)
                                       : file_path(ctx.component, file.name);
  if (published) {
    for (const char* own : {"lock", "components", "credentials", "data"})
      if (file.name == own) return base::fail(bad_name("published file", file.name));
    // Remembered, so that destroying the component removes it.
    const std::string list = base::join_path(component_dir(ctx.component), "published");
    auto names = base::read_file(list, 1 << 20).value_or("");
    if (("\n" + names).find("\n" + file.name + "\n") == std::string::npos) {
      if (auto made = base::make_directories(component_dir(ctx.component), 0700); !made) return base::fail(made.error());
      if (auto added = base::append_file(list, file.name + "\n", 0600); !added) return base::fail(added.error());
    }
  }
  if (auto made = base::make_directories(base::parent_dir(path), 0700); !made) return base::fail(made.error());
  const mode_t mode = secret ? 0600 : static_cast<mode_t>(file.mode);
  auto existing = base::read_file(path, 64 * 1024 * 1024);
  struct stat st {};
  const bool same_mode = ::stat(path.c_str(), &st) == 0 && (st.st_mode & 07777) == mode;
  if (existing && *existing == file.content && same_mode) return FileResult{path, false};
  if (auto written = base::write_file_atomically(path, file.content, mode); !written) return base::fail(written.error());
  ctx.note((secret ? "wrote credential " : "wrote ") + file.name);
  return FileResult{path, true};
}

base::expected<std::string> Local::ensure_secret(RunContext& ctx, std::string_view item,
                                                 const std::function<std::string()>& generate) {
  if (!safe_name(ctx.component)) return base::fail(bad_name("component", ctx.component));
  if (!safe_name(item)) return base::fail(bad_name("credential", item));
  const std::string path = credential_path(ctx.component, item);
  // The one secret reader (base/secrets.hpp): the file it checks is the file it reads.
  auto existing = base::read_secret_file(path, "the credential", 1 << 20);
  if (existing) return *existing;
  if (existing.error().os_errno != ENOENT) {
    base::Error e = existing.error();
    if (e.hint.empty()) e.hint = "fix its owner and mode (chmod 600), or remove it to have a new one generated";
    return base::fail(std::move(e));
  }
  if (auto made = base::make_directories(base::parent_dir(path), 0700); !made) return base::fail(made.error());
  std::string value = generate();
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  if (auto written = base::write_file_atomically(path, value, 0600); !written) return base::fail(written.error());
  ctx.note("generated credential " + std::string(item));
  return value;
}

base::expected<std::string> Local::data_dir(RunContext& ctx, std::string_view item) {
  if (!safe_name(ctx.component)) return base::fail(bad_name("component", ctx.component));
  if (!safe_name(item)) return base::fail(bad_name("data directory", item));
  const std::string path = base::join_path(base::join_path(base::join_path(root_, "data"), ctx.component), item);
  if (auto made = base::make_directories(path, 0700); !made) return base::fail(made.error());
  return path;
}

base::expected<void> Local::record(RunContext& ctx, const ComponentRecord& record) {
  if (!safe_name(record.component)) return base::fail(bad_name("component", record.component));
  const std::string dir = component_dir(record.component);
  if (auto made = base::make_directories(dir, 0700); !made) return base::fail(made.error());
  json doc = {{"component", record.component},
              {"settings", json::parse(record.settings_json, nullptr, false)},
              {"deployed_at", record.deployed_at},
              {"plugin", ctx.plugin}};
  return write_json(base::join_path(dir, "record.json"), doc);
}

std::optional<ComponentRecord> Local::recorded(std::string_view component) const {
  if (!safe_name(component)) return std::nullopt;
  auto doc = read_json(base::join_path(component_dir(component), "record.json"));
  if (!doc) return std::nullopt;
  const json settings = doc->value("settings", json::object());
  return ComponentRecord{std::string(component), settings.is_discarded() ? "{}" : settings.dump(),
                         doc->value("deployed_at", std::string())};
}

std::vector<std::string> Local::deployed_components() const {
  std::vector<std::string> out;
  for (const auto& item : list_names(base::join_path(root_, "components"), ""))
    if (recorded(item)) out.push_back(item);
  return out;
}

std::vector<ResourceState> Local::resources(RunContext& ctx) {
  std::vector<ResourceState> out;
  const std::string dir = base::join_path(component_dir(ctx.component), "processes");
  for (const auto& item : list_names(dir, ".json")) {
    auto record = read_json(base::join_path(dir, item + ".json"));
    if (!record) continue;
    const auto identity = identity_of(*record);
    const auto liveness = base::check_process(identity);
    ResourceState r;
    r.kind = "process";
    r.name = item;
    r.up = liveness == base::Liveness::running;
    r.state = std::string(base::liveness_name(liveness));
    r.details.emplace_back("pid", std::to_string(identity.pid));
    r.details.emplace_back("since", record->value("started_at", std::string()));
    std::string ports;
    for (const auto& p : record->value("ports", json::array()))
      ports += (ports.empty() ? "" : ", ") + p.value("name", std::string()) + " " + p.value("address", std::string()) +
               ":" + std::to_string(p.value("port", 0));
    if (!ports.empty()) r.details.emplace_back("ports", ports);
    r.details.emplace_back("log", record->value("log", std::string()));
    out.push_back(std::move(r));
  }
  return out;
}

namespace {

// Stops one recorded process (only if it is still the one we started) and
// forgets it.
base::expected<std::string> stop_recorded(const std::string& record_path) {
  auto record = read_json(record_path);
  std::string what = "forgot " + fs::path(record_path).stem().string();
  if (record) {
    const auto identity = identity_of(*record);
    const auto before = base::check_process(identity);
    if (before == base::Liveness::running) {
      auto stopped = base::terminate_process(identity, stop_grace);
      if (!stopped) return base::fail(stopped.error());
      what = "stopped " + fs::path(record_path).stem().string() + " (pid " + std::to_string(identity.pid) + ")";
    }
  }
  std::error_code ec;
  fs::remove(record_path, ec);
  return what;
}

}  // namespace

base::expected<Outcome> Local::prune(RunContext& ctx) {
  const std::string dir = base::join_path(component_dir(ctx.component), "processes");
  const auto& keep = ensured_[ctx.component];
  std::vector<std::string> stopped;
  for (const auto& item : list_names(dir, ".json")) {
    if (keep.count(item)) continue;
    auto what = stop_recorded(base::join_path(dir, item + ".json"));
    if (!what) return base::fail(what.error());
    std::error_code ec;
    fs::remove(base::join_path(base::join_path(component_dir(ctx.component), "logs"), item + ".log"), ec);
    stopped.push_back(*what);
  }
  if (stopped.empty()) return Outcome::no_change("nothing to remove");
  std::string message;
  for (const auto& s : stopped) message += (message.empty() ? "" : "; ") + s;
  return Outcome::success(message);
}

// Once a purge has removed the last component, nothing of the deployment
// stays: not the empty directories, not the lock, not the plugin's state
// directory if nothing else is in it. The lock file goes while we hold it;
// a process waiting on it notices that it locked a removed file and opens
// the new one (base::FileLock::acquire).
void Local::remove_if_last() {
  std::error_code ec;
  const std::string components = base::join_path(root_, "components");
  if (fs::exists(components, ec) && !fs::is_empty(components, ec)) return;
  for (const char* own : {"components", "credentials", "data"}) {
    const std::string dir = base::join_path(root_, own);
    if (fs::is_directory(dir, ec) && fs::is_empty(dir, ec)) fs::remove(dir, ec);
  }
  if (!fs::is_directory(root_, ec)) return;
  for (const auto& entry : fs::directory_iterator(root_, ec))
    if (entry.path().filename() != "lock") return;
  fs::remove(base::join_path(root_, "lock"), ec);
  fs::remove(root_, ec);
  const std::string plugin_dir = base::parent_dir(root_);
  if (fs::is_directory(plugin_dir, ec) && fs::is_empty(plugin_dir, ec)) fs::remove(plugin_dir, ec);
}

base::expected<Outcome> Local::destroy(RunContext& ctx, const DestroyOptions& options) {
  if (!safe_name(ctx.component)) return base::fail(bad_name("component", ctx.component));
  const std::string dir = component_dir(ctx.component);
  std::error_code ec;
  for (const auto& file : base::split_lines(base::read_file(base::join_path(dir, "published"), 1 << 20).value_or("")))
    if (safe_name(file)) fs::remove(base::join_path(root_, file), ec);
  int stopped = 0;
  for (const auto& item : list_names(base::join_path(dir, "processes"), ".json")) {
    auto what = stop_recorded(base::join_path(base::join_path(dir, "processes"), item + ".json"));
    if (!what) return base::fail(what.error());
    if (what->starts_with("stopped")) ++stopped;
  }
  fs::remove_all(dir, ec);
  if (ec) return base::fail(base::os_error(ec.value(), "cannot remove '" + dir + "'"));
  const std::string credentials = base::join_path(base::join_path(root_, "credentials"), ctx.component);
  const std::string data = base::join_path(base::join_path(root_, "data"), ctx.component);
  const bool kept = fs::exists(credentials) || fs::exists(data);
  std::string message = "stopped " + std::to_string(stopped) + " process" + (stopped == 1 ? "" : "es");
  if (options.purge) {
    fs::remove_all(credentials, ec);
    fs::remove_all(data, ec);
    if (kept) message += "; removed its credentials and data";
    remove_if_last();
  } else if (kept) {
    message += "; kept its credentials and data (--purge removes them)";
  }
  return Outcome::success(message);
}

}  // namespace harmony::topologies
