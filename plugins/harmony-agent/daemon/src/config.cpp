#include "config.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>

#include <yaml-cpp/yaml.h>

#include <harmony/base/files.hpp>
#include <harmony/base/secrets.hpp>
#include <harmony/base/suggest.hpp>
#include <harmony/base/text.hpp>
#include <harmony/base/time.hpp>

namespace harmony::agent::daemon {
namespace {

base::Error bad(std::string key, std::string problem, std::string hint = {}) {
  base::Error e = base::make_error("invalid agent configuration: " + key, std::move(problem), std::move(hint));
  e.status = base::exit_status::invalid_settings;
  return e;
}

// Walks a YAML map, remembering which keys were read so that the others are
// reported (with a suggestion) instead of silently ignored.
class Map {
 public:
  Map(const YAML::Node& node, std::string prefix) : node_(node), prefix_(std::move(prefix)) {}
  [[nodiscard]] std::string key(const std::string& k) const { return prefix_.empty() ? k : prefix_ + "." + k; }
  // An undefined node (false) when the key is absent; const access so that
  // looking does not insert.
  YAML::Node get(const std::string& k) {
    known_.push_back(k);
    if (!node_.IsDefined() || !node_.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    const YAML::Node& map = node_;
    return map[k];
  }
  std::vector<base::Error> unknown() const {
    std::vector<base::Error> out;
    if (!node_.IsDefined() || !node_.IsMap()) return out;
    for (const auto& item : node_) {
      const std::string k = item.first.as<std::string>();
      if (std::find(known_.begin(), known_.end(), k) != known_.end()) continue;
      auto close = base::suggest(k, known_, 1);
      out.push_back(bad(key(k), "there is no such setting", close.empty() ? "" : "did you mean '" + key(close.front()) + "'?"));
    }
    return out;
  }

 private:
  YAML::Node node_;
  std::string prefix_;
  std::vector<std::string> known_;
};

base::expected<std::string> scalar(const YAML::Node& node, const std::string& key) {
  if (!node.IsScalar()) return base::fail(bad(key, "must be a single value"));
  return node.Scalar();
}

base::expected<std::vector<std::string>> list(const YAML::Node& node, const std::string& key) {
  if (node.IsScalar()) return std::vector<std::string>{node.Scalar()};
  if (!node.IsSequence()) return base::fail(bad(key, "must be a list"));
  std::vector<std::string> out;
  for (const auto& item : node) {
    if (!item.IsScalar()) return base::fail(bad(key, "must be a list of values"));
    out.push_back(item.Scalar());
  }
  return out;
}

base::expected<std::chrono::milliseconds> duration(const std::string& text, const std::string& key) {
  auto d = base::parse_duration(text);
  if (!d || d->count() <= 0) return base::fail(bad(key, "'" + base::printable(text) + "' is not a duration such as 5s or 500ms"));
  return *d;
}

base::expected<long long> number(const std::string& text, const std::string& key, long long min, long long max) {
  char* end = nullptr;
  errno = 0;
  long long value = std::strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || value < min || value > max)
    return base::fail(bad(key, "'" + base::printable(text) + "' is not a whole number from " + std::to_string(min) + " to " +
                                   std::to_string(max)));
  return value;
}

#define TRY(var, expr)      \
  auto var = (expr);        \
  if (!var) return base::fail(var.error())

}  // namespace

Getenv process_environment() {
  return [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (v == nullptr || v[0] == '\0') return std::nullopt;
    return std::string(v);
  };
}

namespace {
base::expected<Config> load(const std::string& path, const Getenv& getenv);
}

base::expected<Config> load_config(const std::string& path, const Getenv& getenv) {
  // yaml-cpp throws on conversions it cannot do; a configuration must never
  // crash the agent.
  try {
    return load(path, getenv);
  } catch (const YAML::Exception& e) {
    return base::fail(bad(path.empty() ? "the configuration" : path, e.what()));
  }
}

namespace {
base::expected<Config> load(const std::string& path, const Getenv& getenv) {
  Config c;
  YAML::Node root;
  if (!path.empty()) {
    auto text = base::read_file(path, 1 << 20);
    if (!text) {
      base::Error e = text.error();
      e.status = base::exit_status::invalid_settings;
      e.hint = "give the agent its configuration file with --config, or set FLEET_AGENT_CONFIG";
      return base::fail(std::move(e));
    }
    try {
      root = YAML::Load(*text);
    } catch (const YAML::Exception& e) {
      base::Error err = bad(path, "line " + std::to_string(e.mark.line + 1) + ", column " +
                                      std::to_string(e.mark.column + 1) + ": " + e.msg);
      err.message = "invalid agent configuration in " + path;
      return base::fail(std::move(err));
    }
    if (!root.IsNull() && !root.IsMap())
      return base::fail(bad(path, "the configuration must be a map of settings", "see docs/agent.md for an example"));
  }

  Map top(root, "");
  if (auto n = top.get("device_id"); n) {
    TRY(v, scalar(n, "device_id"));
    c.device_id = *v;
  }
  Map nats(top.get("nats"), "nats");
  if (auto n = nats.get("urls"); n) {
    TRY(v, list(n, "nats.urls"));
    c.nats_urls = *v;
  }
  if (auto n = nats.get("user"); n) {
    TRY(v, scalar(n, "nats.user"));
    c.nats_user = *v;
  }
  if (auto n = nats.get("password_file"); n) {
    TRY(v, scalar(n, "nats.password_file"));
    c.password_file = *v;
  }
  if (auto n = nats.get("token_file"); n) {
    TRY(v, scalar(n, "nats.token_file"));
    c.token_file = *v;
  }
  if (auto n = nats.get("ca_file"); n) {
    TRY(v, scalar(n, "nats.ca_file"));
    c.ca_file = *v;
  }
  if (auto n = top.get("labels"); n) {
    if (!n.IsMap()) return base::fail(bad("labels", "must be a map of name: value"));
    for (const auto& item : n) {
      if (!item.second.IsScalar()) return base::fail(bad("labels." + item.first.as<std::string>(), "must be a single value"));
      c.labels[item.first.as<std::string>()] = item.second.Scalar();
    }
  }
  Map exec(top.get("exec"), "exec");
  if (auto n = exec.get("allow"); n) {
    TRY(v, list(n, "exec.allow"));
    c.exec_allow = *v;
  }
  if (auto n = exec.get("allow_args"); n) {
    if (!n.IsMap()) return base::fail(bad("exec.allow_args", "must map programs to lists of argument lists"));
    for (const auto& item : n) {
      const std::string program = item.first.as<std::string>();
      const std::string key = "exec.allow_args." + program;
      if (!item.second.IsSequence()) return base::fail(bad(key, "must be a list of argument lists", "e.g. [[status, nginx]]"));
      auto& vectors = c.exec_allow_args[program];
      for (const auto& vector : item.second) {
        if (!vector.IsSequence()) return base::fail(bad(key, "must be a list of argument lists", "e.g. [[status, nginx]]"));
        TRY(args, list(vector, key));
        vectors.push_back(*args);
      }
    }
  }
  if (auto n = exec.get("env"); n) {
    if (!n.IsMap()) return base::fail(bad("exec.env", "must be a map of NAME: value"));
    for (const auto& item : n) {
      const std::string name = item.first.as<std::string>();
      if (!item.second.IsScalar()) return base::fail(bad("exec.env." + name, "must be a single value"));
      if (name.empty() || name.find_first_of("=") != std::string::npos || name.find('\0') != std::string::npos)
        return base::fail(bad("exec.env", "'" + base::printable(name) + "' is not a variable name"));
      c.exec_env[name] = item.second.Scalar();
    }
  }
  if (auto n = exec.get("timeout"); n) {
    TRY(text, scalar(n, "exec.timeout"));
    TRY(v, duration(*text, "exec.timeout"));
    // A drain waits for every running command: an unbounded deadline would
    // let one command hold the agent's stop (and systemd's) for ever.
    if (*v > std::chrono::hours(1)) return base::fail(bad("exec.timeout", "must be at most 1h"));
    c.exec_timeout = *v;
  }
  if (auto n = exec.get("output_limit"); n) {
    TRY(text, scalar(n, "exec.output_limit"));
    TRY(v, number(*text, "exec.output_limit", 1024, 16 * 1024 * 1024));
    c.exec_output_limit = static_cast<std::size_t>(*v);
  }
  if (auto n = exec.get("max_concurrent"); n) {
    TRY(text, scalar(n, "exec.max_concurrent"));
    TRY(v, number(*text, "exec.max_concurrent", 1, 64));
    c.exec_max_concurrent = static_cast<int>(*v);
  }
  Map heartbeat(top.get("heartbeat"), "heartbeat");
  if (auto n = heartbeat.get("interval"); n) {
    TRY(text, scalar(n, "heartbeat.interval"));
    TRY(v, duration(*text, "heartbeat.interval"));
    c.heartbeat_interval = *v;
  }
  Map workloads(top.get("workloads"), "workloads");
  if (auto n = workloads.get("enabled"); n) {
    TRY(text, scalar(n, "workloads.enabled"));
    if (*text != "true" && *text != "false") return base::fail(bad("workloads.enabled", "must be true or false"));
    c.workloads = *text == "true";
  }
  if (auto n = workloads.get("directory"); n) {
    TRY(v, scalar(n, "workloads.directory"));
    c.workloads_dir = *v;
    c.workloads_dir_set = true;
  }
  if (auto n = workloads.get("stop_grace"); n) {
    TRY(text, scalar(n, "workloads.stop_grace"));
    TRY(v, duration(*text, "workloads.stop_grace"));
    c.workloads_stop_grace = *v;
  }
  if (auto n = workloads.get("resync"); n) {
    TRY(text, scalar(n, "workloads.resync"));
    TRY(v, duration(*text, "workloads.resync"));
    c.desired_resync = *v;
  }
  if (auto n = workloads.get("podman"); n) {
    TRY(v, scalar(n, "workloads.podman"));
    c.podman = *v;
  }
  Map logs(top.get("logs"), "logs");
  if (auto n = logs.get("keep"); n) {
    TRY(text, scalar(n, "logs.keep"));
    TRY(v, number(*text, "logs.keep", 10, 100000));
    c.log_lines = static_cast<std::size_t>(*v);
  }
  if (auto n = logs.get("level"); n) {
    TRY(v, scalar(n, "logs.level"));
    c.log_level = *v;
  }
  for (const Map* m : {&top, &nats, &exec, &heartbeat, &workloads, &logs})
    if (auto unknown = m->unknown(); !unknown.empty()) return base::fail(unknown.front());

  // The environment overrides the file.
  if (auto v = getenv("FLEET_AGENT_DEVICE_ID")) c.device_id = *v;
  if (auto v = getenv("FLEET_AGENT_NATS_URLS")) c.nats_urls = base::split_list(*v, ',');
  if (auto v = getenv("FLEET_AGENT_NATS_USER")) c.nats_user = *v;
  if (auto v = getenv("FLEET_AGENT_NATS_PASSWORD_FILE")) c.password_file = *v;
  if (auto v = getenv("FLEET_AGENT_NATS_CA_FILE")) c.ca_file = *v;
  if (auto v = getenv("FLEET_AGENT_NATS_TOKEN_FILE")) c.token_file = *v;
  if (auto v = getenv("FLEET_AGENT_EXEC_ALLOW")) c.exec_allow = base::split_list(*v, ',');
  if (auto v = getenv("FLEET_AGENT_LABELS")) {
    for (const auto& pair : base::split_list(*v, ',')) {
      auto eq = pair.find('=');
      if (eq == std::string::npos || eq == 0)
        return base::fail(bad("FLEET_AGENT_LABELS", "'" + base::printable(pair) + "' is not name=value"));
      c.labels[pair.substr(0, eq)] = pair.substr(eq + 1);
    }
  }
  if (auto v = getenv("FLEET_AGENT_WORKLOADS_DIR")) {
    c.workloads_dir = *v;
    c.workloads_dir_set = true;
  }
  if (auto v = getenv("FLEET_AGENT_HEARTBEAT_INTERVAL")) {
    TRY(d, duration(*v, "FLEET_AGENT_HEARTBEAT_INTERVAL"));
    c.heartbeat_interval = *d;
  }

  // What the values must be.
  if (c.device_id.empty()) return base::fail(bad("device_id", "is missing", "set device_id in the file, or FLEET_AGENT_DEVICE_ID"));
  if (auto valid = validate_device_id(c.device_id); !valid)
    return base::fail(bad("device_id", valid.error().message + ": " + valid.error().reason));
  if (c.nats_urls.empty()) return base::fail(bad("nats.urls", "is empty"));
  for (const auto& url : c.nats_urls)
    if (!url.starts_with("nats://") && !url.starts_with("tls://"))
      return base::fail(bad("nats.urls", "'" + base::printable(url) + "' is not a nats:// or tls:// URL"));
  if (!c.nats_user.empty() && c.password_file.empty())
    return base::fail(bad("nats.password_file", "is missing", "a user needs a password file"));
  if (!c.token_file.empty() && !c.nats_user.empty())
    return base::fail(bad("nats.token_file", "goes with no nats.user",
                          "log in either with a user and its password file or with a token file"));
  for (const auto& program : c.exec_allow)
    if (program.empty() || program.front() != '/')
      return base::fail(bad("exec.allow", "'" + base::printable(program) + "' is not an absolute path",
                            "the allowlist holds absolute paths; there is no PATH lookup"));
  for (const auto& [program, vectors] : c.exec_allow_args) {
    if (program.empty() || program.front() != '/')
      return base::fail(bad("exec.allow_args", "'" + base::printable(program) + "' is not an absolute path",
                            "the allowlist holds absolute paths; there is no PATH lookup"));
    // Listed in both, it would be unclear whether its arguments are limited.
    if (std::find(c.exec_allow.begin(), c.exec_allow.end(), program) != c.exec_allow.end())
      return base::fail(bad("exec.allow_args", "'" + base::printable(program) + "' is also in exec.allow, which allows any arguments",
                            "keep it in one of the two"));
  }
  if (c.workloads && (c.workloads_dir.empty() || c.workloads_dir.front() != '/'))
    return base::fail(bad("workloads.directory", "'" + base::printable(c.workloads_dir) + "' is not an absolute path"));
  if (c.log_level != "debug" && c.log_level != "info" && c.log_level != "warn" && c.log_level != "error")
    return base::fail(bad("logs.level", "'" + base::printable(c.log_level) + "' is not debug, info, warn or error"));
  return c;
}

// A `*` matches any run of characters; everything else matches itself.
bool glob_match(std::string_view pattern, std::string_view text) {
  std::size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace

std::vector<std::string> exec_programs(const Config& config) {
  std::vector<std::string> out = config.exec_allow;
  for (const auto& [program, vectors] : config.exec_allow_args) out.push_back(program);
  return out;
}

std::optional<std::string> exec_refusal(const Config& config, const std::vector<std::string>& argv) {
  const std::string& program = argv.front();
  if (std::find(config.exec_allow.begin(), config.exec_allow.end(), program) != config.exec_allow.end()) return std::nullopt;
  auto rules = config.exec_allow_args.find(program);
  if (rules == config.exec_allow_args.end())
    return "'" + base::printable(program) + "' is not on this agent's exec allowlist";
  for (const auto& allowed : rules->second) {
    if (allowed.size() != argv.size() - 1) continue;
    bool all = true;
    for (std::size_t i = 0; i < allowed.size() && all; ++i) all = glob_match(allowed[i], argv[i + 1]);
    if (all) return std::nullopt;
  }
  return "'" + base::printable(program) + "' is on this agent's exec allowlist, but not with these arguments";
}

base::Environment exec_environment(const Config& config) {
  base::Environment env;
  env.set("PATH", exec_path);
  env.set("LANG", "C.UTF-8");
  for (const auto& [name, value] : config.exec_env) env.set(name, value);
  return env;
}

base::expected<std::string> read_password(const Config& config) {
  auto password = base::read_secret_file(config.password_file, "the password file");
  if (!password)
    return base::fail(bad("nats.password_file", password.error().message + ": " + password.error().reason,
                          password.error().hint));
  if (password->empty()) return base::fail(bad("nats.password_file", "'" + base::printable(config.password_file) + "' is empty"));
  return *password;
}

}  // namespace harmony::agent::daemon
