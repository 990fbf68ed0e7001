#include <harmony/fleet/config.hpp>

#include <arpa/inet.h>
#include <algorithm>
#include <cstdlib>
#include <random>
#include <set>
#include <unistd.h>

#include <yaml-cpp/yaml.h>

#include <harmony/agent/protocol.hpp>
#include <harmony/base/exit_status.hpp>
#include <harmony/kube/transport.hpp>
#include <harmony/base/files.hpp>
#include <harmony/base/text.hpp>
#include <harmony/fleet/contract.hpp>
#include <harmony/base/paths.hpp>
#include <harmony/base/process.hpp>

#include "internal.hpp"

namespace harmony::fleet {
namespace {

// A string in nats-server's configuration syntax.
std::string quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + quoted(items[i]);
  return out + "]";
}

const std::string password_suffix = ".password";
const std::string agent_prefix = "agent-";

}  // namespace

std::vector<settings::Problem> NatsSettings::check() const {
  std::vector<settings::Problem> problems;
  if (client_port == monitor_port) problems.push_back({"monitor_port", "must differ from client_port"});
  if (node_port.value != 0 && (node_port.value < 30000 || node_port.value > 32767))
    problems.push_back({"node_port", std::to_string(node_port.value) + " is outside Kubernetes' NodePort range, 30000-32767"});
  unsigned char buffer[16];
  if (listen != "localhost" && ::inet_pton(AF_INET, listen.c_str(), buffer) != 1 && ::inet_pton(AF_INET6, listen.c_str(), buffer) != 1)
    problems.push_back({"listen", "'" + base::printable(listen) + "' is not an IP address (127.0.0.1, 0.0.0.0, ::1)"});
  if (program.empty()) problems.push_back({"program", "must name the nats-server program"});
  return problems;
}

HelmRelease detail::chart_release(std::string release, const std::string& chart, const std::string& repository,
                                  const std::string& version, std::string values) {
  const bool oci = chart.starts_with("oci://");
  const bool local = !oci && chart.find('/') != std::string::npos;
  return {.name = std::move(release),
          .chart = chart,
          .repository = local || oci ? std::string() : repository,
          .version = local ? std::string() : version,
          .values = std::move(values)};
}

std::optional<settings::Problem> detail::chart_source_problem(const std::string& chart, const std::string& repository) {
  if (chart.empty() || chart.starts_with("oci://") || chart.find('/') != std::string::npos || !repository.empty()) return std::nullopt;
  return settings::Problem{"chart_repository", "is needed for a chart named '" + base::printable(chart) + "' (or give oci://... or a path)"};
}

std::vector<settings::Problem> detail::device_id_problems(const char* key, const std::vector<std::string>& ids) {
  std::vector<settings::Problem> problems;
  std::set<std::string> seen;
  for (const auto& id : ids) {
    if (auto valid = agent::validate_device_id(id); !valid)
      problems.push_back({key, valid.error().message + ": " + valid.error().reason});
    else if (!seen.insert(id).second)
      problems.push_back({key, "'" + id + "' is listed twice"});
  }
  return problems;
}

std::vector<settings::Problem> AgentSettings::check() const {
  std::vector<settings::Problem> problems = detail::device_id_problems("ids", ids);
  if (!ids.empty() && count != 1 && count != static_cast<int>(ids.size()))
    problems.push_back({"count", "is " + std::to_string(count) + " but ids lists " + std::to_string(ids.size()) +
                                     " devices; set one of them"});
  if (ids.empty()) {
    const std::string longest = id_prefix + "-" + std::to_string(count);
    if (auto valid = agent::validate_device_id(longest); !valid)
      problems.push_back({"id_prefix", "'" + base::printable(id_prefix) + "' makes ids such as '" + base::printable(longest) +
                                           "', which " + valid.error().reason.substr(3)});
  }
  for (const auto& program_path : exec_allow)
    if (program_path.empty() || program_path.front() != '/')
      problems.push_back({"exec_allow", "'" + base::printable(program_path) + "' is not an absolute path (agents do no PATH lookup)"});
  for (const auto& [k, v] : labels) {
    if (!contract::valid_label_key(k)) problems.push_back({"labels", "'" + base::printable(k) + "' is not a label name"});
    else if (!contract::valid_label_value(v))
      problems.push_back({"labels." + k, "'" + base::printable(v) + "' is not a label value (at most 63 letters, digits, '-', '_', '.')"});
  }
  const auto all_ids = device_ids();
  for (const auto& [id, text] : device_labels) {
    if (std::find(all_ids.begin(), all_ids.end(), id) == all_ids.end()) {
      problems.push_back({"device_labels." + id, "no agent has this id (the ids are " + base::join(all_ids, ", ") + ")"});
      continue;
    }
    for (const auto& pair : base::split_list(text, ',')) {
      const auto eq = pair.find('=');
      if (eq == std::string::npos || !contract::valid_label_key(pair.substr(0, eq)) ||
          !contract::valid_label_value(pair.substr(eq + 1)))
        problems.push_back({"device_labels." + id, "'" + base::printable(pair) + "' is not name=value with a valid label name and value"});
    }
  }
  if (heartbeat.value < 100ms) problems.push_back({"heartbeat", "must be at least 100ms"});
  if (exec_timeout.value < 1s) problems.push_back({"exec_timeout", "must be at least 1s"});
  if (program.empty()) problems.push_back({"program", "must name the fleet-agent program"});
  return problems;
}

std::vector<settings::Problem> CalloutSettings::check() const {
  std::vector<settings::Problem> problems;
  // With issuer_fetch_url, issuer_url is only compared with tokens' iss
  // (nothing is fetched from it), so plain http is no risk there.
  const bool web = issuer_url.starts_with("https://") || issuer_url.starts_with("http://");
  if (!issuer_url.empty() && (!web || (issuer_fetch_url.empty() && !issuer_url.starts_with("https://") &&
                                       !kube::is_loopback_http_url(issuer_url))))
    problems.push_back({"issuer_url", "'" + base::printable(issuer_url) + "' is not an https URL (http only on loopback)"});
  if (issuer_url.find_first_of(" \t\r\n") != std::string::npos)
    problems.push_back({"issuer_url", "must not hold spaces or line breaks"});
  if (!issuer_fetch_url.empty() && !issuer_fetch_url.starts_with("https://") && !kube::is_loopback_http_url(issuer_fetch_url) &&
      !kube::is_cluster_service_http_url(issuer_fetch_url))
    problems.push_back({"issuer_fetch_url", "'" + base::printable(issuer_fetch_url) +
                                                "' is not https, nor plain http to loopback or a Service (NAME.NAMESPACE.svc)"});
  if (!issuer_url.empty() && audience.empty()) problems.push_back({"audience", "must be set with issuer_url"});
  if (user_lifetime.value < 1s) problems.push_back({"user_lifetime", "must be at least 1s"});
  if (device_prefix.empty()) problems.push_back({"device_prefix", "must not be empty (any machine user would be a device)"});
  if (program.empty()) problems.push_back({"program", "must name the fleet-callout program"});
  return problems;
}

std::map<std::string, std::string> AgentSettings::labels_of(const std::string& device_id) const {
  auto out = labels;
  if (auto it = device_labels.find(device_id); it != device_labels.end())
    for (const auto& pair : base::split_list(it->second, ','))
      if (auto eq = pair.find('='); eq != std::string::npos) out[pair.substr(0, eq)] = pair.substr(eq + 1);
  return out;
}

std::vector<std::string> AgentSettings::device_ids() const {
  if (!ids.empty()) return ids;
  std::vector<std::string> out;
  for (int i = 1; i <= count; ++i) out.push_back(id_prefix + "-" + std::to_string(i));
  return out;
}

std::string generate_password() {
  static constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::random_device source;  // the kernel's getrandom() on Linux
  std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
  std::string out;
  for (int i = 0; i < 32; ++i) out += alphabet[pick(source)];
  return out;
}

std::string agent_user(std::string_view device_id) { return agent_prefix + std::string(device_id); }
std::string agent_password_file(std::string_view device_id) { return agent_user(device_id) + password_suffix; }

std::optional<std::string> device_of_password_file(std::string_view file_name) {
  if (!file_name.starts_with(agent_prefix) || !file_name.ends_with(password_suffix)) return std::nullopt;
  std::string id(file_name.substr(agent_prefix.size(), file_name.size() - agent_prefix.size() - password_suffix.size()));
  if (!agent::valid_device_id(id)) return std::nullopt;
  return id;
}


std::vector<Bucket> fleet_buckets() {
  return {{agent::status_bucket, "fleet agents' heartbeats, one key per device id"},
          {contract::desired_bucket, "what each device should run: <device>.<namespace>.<deployment>, written by the fleet operator"},
          {contract::reported_bucket, "what each device runs: <device>.<namespace>.<deployment>, written by its agent"}};
}

std::string render_accounts(const std::vector<NatsUser>& users) {
  std::string out =
      "# Generated by harmony-fleet: the NATS users of the fleet. Do not edit; deploys rewrite it.\n"
      "# The operator may do anything; the operator runtime only the fleet's KV buckets; each agent only what\n"
      "# docs/agent-protocol.md and docs/fleet-operator.md need for its own id.\n"
      "users = [\n";
  for (const auto& u : users) {
    out += "  { user: " + quoted(u.name) + ", password: " + quoted(u.password);
    if (u.device_id.empty() && !u.controller && !u.callout) {
      out += " }\n";
      continue;
    }
    const Permissions p = u.controller ? controller_permissions()
                          : u.callout  ? callout_permissions()
                                       : agent_permissions(u.device_id);
    out += ",\n    permissions: {\n";
    out += "      publish: { allow: " + list(p.publish) + " }\n";
    out += "      subscribe: { allow: " + list(p.subscribe) + " }\n";
    if (p.allow_responses) out += "      allow_responses: true\n";
    out += "    } }\n";
  }
  return out + "]\n";
}

namespace {

struct ConfigParts {
  std::string listen;
  std::string http;
  std::string store_dir;
  std::string accounts_include;
  std::string tls;
  std::string system_password;  // empty: no system account
};

std::string render_config(const ConfigParts& p, const CalloutServer* callout) {
  std::string out =
      "# Generated by harmony-fleet. Do not edit: the next deploy rewrites it.\n"
      "# Change it with --set nats.<key>=... (harmony fleet components lists the keys).\n";
  out += "server_name: \"harmony-fleet\"\n";
  out += "listen: " + quoted(p.listen) + "\n";
  out += "http: " + quoted(p.http) + "\n";
  out += "jetstream {\n  store_dir: " + quoted(p.store_dir) + "\n}\n";
  out += "authorization {\n  include " + quoted(p.accounts_include) + "\n";
  if (callout) {
    // harmony's own users log in with their passwords; everyone else is
    // asked of the callout (a device's or a person's token).
    std::vector<std::string> bypass{std::string(callout_user), std::string(operator_user), std::string(controller_user)};
    if (!p.system_password.empty()) bypass.emplace_back(system_user);
    out += "  auth_callout {\n";
    out += "    issuer: " + quoted(callout->issuer) + "\n";
    out += "    auth_users: " + list(bypass) + "\n";
    out += "    xkey: " + quoted(callout->xkey) + "\n";
    out += "  }\n";
  }
  out += "}\n";
  out += p.tls;
  if (p.system_password.empty()) return out;
  // A system account: harmony asks the server to reload its accounts over
  // NATS, since no one can signal a process in a pod from outside.
  out += "accounts {\n  SYS {\n    users = [ { user: " + quoted(std::string(system_user)) + ", password: " +
         quoted(p.system_password) + " } ]\n  }\n}\nsystem_account: SYS\n";
  return out;
}

}  // namespace

std::vector<std::string> callout_arguments(const CalloutSettings& s, const std::string& nats_url, const CalloutFiles& f) {
  std::vector<std::string> args{"--nats-urls",         nats_url,
                                "--nats-user",         std::string(callout_user),
                                "--nats-password-file", f.password,
                                "--issuer-seed-file",  f.issuer_seed,
                                "--xkey-seed-file",    f.xkey_seed,
                                "--oidc-issuer",       s.issuer_url,
                                "--oidc-audience",     s.audience,
                                "--account",           std::string(fleet_account),
                                "--device-claim",      s.device_claim,
                                "--device-prefix",     s.device_prefix,
                                "--roles-claim",       s.roles_claim,
                                "--ops-role",          s.ops_role,
                                "--user-lifetime",     std::to_string(s.user_lifetime.value.count()) + "ms"};
  if (!f.oidc_ca.empty()) args.insert(args.end(), {"--oidc-ca-file", f.oidc_ca});
  if (!s.issuer_fetch_url.empty()) args.insert(args.end(), {"--oidc-fetch-url", s.issuer_fetch_url});
  // The agents' password files, read at each such login, while migrating.
  if (s.admit_passwords) args.insert(args.end(), {"--agent-passwords-dir", f.agent_passwords_dir});
  return args;
}

std::string render_nats_config(const NatsSettings& s, const std::string& store_dir, const std::string& accounts_include,
                               const CalloutServer* callout) {
  return render_config({s.listen + ":" + std::to_string(s.client_port.value), "127.0.0.1:" + std::to_string(s.monitor_port.value),
                        store_dir, accounts_include, "", ""},
                       callout);
}

std::string render_nats_pod_config(const NatsSettings& s, const std::string& system_password, const CalloutServer* callout) {
  // The accounts come from their own Secret, mounted beside this one.
  return render_config({"0.0.0.0:" + std::to_string(s.client_port.value), "0.0.0.0:" + std::to_string(s.monitor_port.value),
                        "/data/jetstream", "../nats-accounts/accounts.conf",
                        s.tls ? "tls {\n  cert_file: \"/etc/nats-tls/tls.crt\"\n  key_file: \"/etc/nats-tls/tls.key\"\n  timeout: 2\n}\n"
                              : "",
                        system_password},
                       callout);
}

bool is_loopback(std::string_view address) {
  return address == "localhost" || address == "::1" || address.starts_with("127.");
}

std::string client_url(const NatsSettings& s) {
  std::string host = s.listen;
  if (host == "0.0.0.0" || host == "::" || host == "localhost") host = "127.0.0.1";
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "nats://" + host + ":" + std::to_string(s.client_port.value);
}

std::string render_agent_config(const AgentSettings& s, const std::string& device_id, const std::string& nats_url,
                                const AgentLogin& login, const std::string& ca_file,
                                const std::string& workloads_dir) {
  YAML::Emitter out;
  out << YAML::Comment("Generated by harmony-fleet for " + device_id + ". Do not edit: the next deploy rewrites it.");
  out << YAML::BeginMap;
  out << YAML::Key << "device_id" << YAML::Value << device_id;
  out << YAML::Key << "nats" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "urls" << YAML::Value << YAML::Flow << std::vector<std::string>{nats_url};
  if (!login.token_file.empty()) {
    out << YAML::Key << "token_file" << YAML::Value << login.token_file;
  } else {
    out << YAML::Key << "user" << YAML::Value << agent_user(device_id);
    out << YAML::Key << "password_file" << YAML::Value << login.password_file;
  }
  if (!ca_file.empty()) out << YAML::Key << "ca_file" << YAML::Value << ca_file;
  out << YAML::EndMap;
  out << YAML::Key << "labels" << YAML::Value << YAML::BeginMap;
  for (const auto& [k, v] : s.labels_of(device_id)) out << YAML::Key << k << YAML::Value << v;
  out << YAML::EndMap;
  out << YAML::Key << "exec" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "allow" << YAML::Value << YAML::BeginSeq;
  for (const auto& p : s.exec_allow) out << p;
  out << YAML::EndSeq;
  out << YAML::Key << "timeout" << YAML::Value << std::to_string(s.exec_timeout.value.count()) + "ms";
  out << YAML::EndMap;
  out << YAML::Key << "heartbeat" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "interval" << YAML::Value << std::to_string(s.heartbeat.value.count()) + "ms";
  out << YAML::EndMap;
  if (!workloads_dir.empty()) {
    out << YAML::Key << "workloads" << YAML::Value << YAML::BeginMap;
    out << YAML::Key << "directory" << YAML::Value << workloads_dir;
    out << YAML::EndMap;
  }
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

base::expected<std::string> find_program(const std::string& configured, std::string_view setting,
                                         std::string_view install_hint) {
  auto refuse = [&](std::string reason) {
    base::Error e = base::make_error("cannot find the program for " + std::string(setting), std::move(reason),
                                     std::string(install_hint) + ", or set " + std::string(setting) + " to its path");
    e.status = base::exit_status::deploy_failed;
    return base::fail(std::move(e));
  };
  if (configured.find('/') != std::string::npos) {
    if (::access(configured.c_str(), X_OK) != 0) return refuse("'" + base::printable(configured) + "' is not an executable file");
    return configured;
  }
  // Beside the running program first: an installed or built harmony keeps its programs together.
  const std::string self = base::self_executable();
  const std::string here = self.empty() ? std::string("(unknown)") : base::parent_dir(self);
  if (!self.empty()) {
    const std::string beside = base::join_path(here, configured);
    if (::access(beside.c_str(), X_OK) == 0) return beside;
  }
  const char* path = std::getenv("PATH");
  if (auto found = base::find_program(configured, path ? path : "/usr/bin:/bin")) return *found;
  // Debian installs servers (nats-server) in /usr/sbin, which a user's PATH often lacks.
  if (auto found = base::find_program(configured, "/usr/local/sbin:/usr/sbin:/sbin")) return *found;
  return refuse("'" + base::printable(configured) + "' is neither next to harmony-fleet (" + here + ") nor in PATH or /usr/sbin");
}

}  // namespace harmony::fleet
