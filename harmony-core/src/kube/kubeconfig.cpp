#include <harmony/kube/kubeconfig.hpp>

#include <cstdlib>
#include <map>
#include <sys/stat.h>

#include <yaml-cpp/yaml.h>

#include <harmony/base/files.hpp>
#include <harmony/base/paths.hpp>
#include <harmony/base/suggest.hpp>
#include <harmony/base/text.hpp>

namespace harmony::kube {
namespace {

using base::Error;
using base::expected;
using base::fail;

// One named entry (cluster, user or context) and where it was defined, so
// errors about it can point at the file and line.
struct Entry {
  YAML::Node body;
  std::string file;
};

struct Merged {
  std::map<std::string, Entry> clusters, users, contexts;
  std::vector<std::string> context_order;  // for listing in definition order
  std::string current_context;
  std::string current_context_file;
  std::vector<std::string> files;
};

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string where(const std::string& file, const YAML::Mark& mark) {
  if (mark.is_null()) return file;
  return file + ":" + std::to_string(mark.line + 1);
}

Error config_error(const std::string& file, const YAML::Mark& mark, std::string what) {
  return base::make_error("kubeconfig " + base::printable(where(file, mark)) + ": " + what, {},
                          "fix the file, or point --kubeconfig (or KUBECONFIG) at another one");
}

// A scalar field, or empty. A field of the wrong shape is an error, not
// silently empty: a typo'd indentation would otherwise connect somewhere else.
expected<std::string> scalar(const YAML::Node& parent, const char* key, const std::string& file) {
  const YAML::Node node = parent[key];
  if (!node || node.IsNull()) return std::string();
  if (!node.IsScalar()) return fail(config_error(file, node.Mark(), std::string("'") + key + "' must be a string"));
  return node.Scalar();
}

expected<bool> boolean(const YAML::Node& parent, const char* key, const std::string& file) {
  const YAML::Node node = parent[key];
  if (!node || node.IsNull()) return false;
  bool value = false;
  if (!node.IsScalar() || !YAML::convert<bool>::decode(node, value)) {
    return fail(config_error(file, node.Mark(), std::string("'") + key + "' must be true or false"));
  }
  return value;
}

// kubectl resolves relative references against the directory of the file
// that holds them, so a kubeconfig can travel with its certificates.
std::string resolve(const std::string& path, const std::string& file) {
  if (path.empty() || path.front() == '/') return path;
  return base::join_path(base::parent_dir(file), path);
}

expected<void> merge_list(const YAML::Node& root, const char* list, const char* body_key, const std::string& file,
                          std::map<std::string, Entry>& into, std::vector<std::string>* order) {
  const YAML::Node node = root[list];
  if (!node || node.IsNull()) return {};
  if (!node.IsSequence()) return fail(config_error(file, node.Mark(), std::string("'") + list + "' must be a list"));
  for (const YAML::Node& item : node) {
    if (!item.IsMap()) return fail(config_error(file, item.Mark(), std::string("an entry of '") + list + "' must be a map"));
    auto name = scalar(item, "name", file);
    if (!name) return fail(name.error());
    if (name->empty()) return fail(config_error(file, item.Mark(), std::string("an entry of '") + list + "' has no name"));
    const YAML::Node body = item[body_key];
    if (body && !body.IsNull() && !body.IsMap()) {
      return fail(config_error(file, body.Mark(), std::string("'") + body_key + "' of '" + *name + "' must be a map"));
    }
    // The first file to define a name wins, as in kubectl.
    if (into.emplace(*name, Entry{body ? body : YAML::Node(YAML::NodeType::Map), file}).second && order != nullptr) {
      order->push_back(*name);
    }
  }
  return {};
}

expected<void> merge_file(const std::string& file, Merged& merged) {
  auto text = base::read_file(file);
  if (!text) return fail(std::move(text.error()).with_hint("check the path given by --kubeconfig or KUBECONFIG"));
  YAML::Node root;
  try {
    root = YAML::Load(*text);
  } catch (const YAML::ParserException& e) {
    return fail(config_error(file, e.mark, "not valid YAML: " + e.msg));
  }
  merged.files.push_back(file);
  if (!root || root.IsNull()) return {};  // an empty file is an empty config, as for kubectl
  if (!root.IsMap()) return fail(config_error(file, root.Mark(), "not a kubeconfig (expected a map with clusters, users, contexts)"));
  if (auto r = merge_list(root, "clusters", "cluster", file, merged.clusters, nullptr); !r) return r;
  if (auto r = merge_list(root, "users", "user", file, merged.users, nullptr); !r) return r;
  if (auto r = merge_list(root, "contexts", "context", file, merged.contexts, &merged.context_order); !r) return r;
  auto current = scalar(root, "current-context", file);
  if (!current) return fail(current.error());
  if (merged.current_context.empty() && !current->empty()) {
    merged.current_context = *current;
    merged.current_context_file = file;
  }
  return {};
}

// The files to read, by kubectl's precedence.
expected<std::vector<std::string>> files_to_read(const LoadOptions& options) {
  if (!options.explicit_path.empty()) {
    if (!exists(options.explicit_path)) {
      return fail(base::usage_error("the kubeconfig '" + base::printable(options.explicit_path) + "' does not exist", {},
                                    "check the path given to --kubeconfig"));
    }
    return std::vector<std::string>{options.explicit_path};
  }
  std::vector<std::string> files;
  if (options.kubeconfig_env && !options.kubeconfig_env->empty()) {
    for (const std::string& entry : base::split_path_list(*options.kubeconfig_env)) {
      if (entry.empty() || !exists(entry)) continue;  // kubectl skips missing entries
      bool seen = false;
      for (const auto& f : files) seen = seen || f == entry;
      if (!seen) files.push_back(entry);
    }
    return files;
  }
  if (!options.home.empty()) {
    std::string path = base::join_path(options.home, ".kube/config");
    if (exists(path)) files.push_back(std::move(path));
  }
  return files;
}

expected<std::string> data_field(const YAML::Node& body, const char* key, const std::string& file) {
  auto text = scalar(body, key, file);
  if (!text) return text;
  if (text->empty()) return text;
  auto decoded = base::base64_decode(*text);
  if (!decoded) return fail(config_error(file, body[key].Mark(), std::string("'") + key + "' is not valid base64"));
  return *decoded;
}

expected<ClusterConfig> read_cluster(const Entry& entry) {
  ClusterConfig c;
  const std::string& f = entry.file;
  auto server = scalar(entry.body, "server", f);
  auto ca = scalar(entry.body, "certificate-authority", f);
  auto ca_data = data_field(entry.body, "certificate-authority-data", f);
  auto insecure = boolean(entry.body, "insecure-skip-tls-verify", f);
  auto sni = scalar(entry.body, "tls-server-name", f);
  for (const auto* r : {&server, &ca, &ca_data, &sni}) {
    if (!*r) return fail(r->error());
  }
  if (!insecure) return fail(insecure.error());
  c.server = *server;
  c.certificate_authority = resolve(*ca, f);
  c.certificate_authority_data = *ca_data;
  c.insecure_skip_tls_verify = *insecure;
  c.tls_server_name = *sni;
  return c;
}

expected<ExecConfig> read_exec(const YAML::Node& node, const std::string& file) {
  if (!node.IsMap()) return fail(config_error(file, node.Mark(), "'exec' must be a map"));
  ExecConfig e;
  auto api = scalar(node, "apiVersion", file);
  auto command = scalar(node, "command", file);
  auto hint = scalar(node, "installHint", file);
  auto mode = scalar(node, "interactiveMode", file);
  auto cluster_info = boolean(node, "provideClusterInfo", file);
  for (const auto* r : {&api, &command, &hint, &mode}) {
    if (!*r) return fail(r->error());
  }
  if (!cluster_info) return fail(cluster_info.error());
  if (command->empty()) return fail(config_error(file, node.Mark(), "the exec plugin has no 'command'"));
  if (*api != "client.authentication.k8s.io/v1" && *api != "client.authentication.k8s.io/v1beta1") {
    return fail(config_error(file, node.Mark(),
                             "exec plugin apiVersion '" + base::printable(*api) +
                                 "' is not supported (client.authentication.k8s.io/v1 or v1beta1)"));
  }
  e.api_version = *api;
  // A bare name is looked up in PATH when run; a path with a '/' is relative
  // to the kubeconfig's directory.
  e.command = command->find('/') != std::string::npos ? resolve(*command, file) : *command;
  e.install_hint = *hint;
  e.interactive_mode = *mode;
  e.provide_cluster_info = *cluster_info;
  if (const YAML::Node args = node["args"]; args && !args.IsNull()) {
    if (!args.IsSequence()) return fail(config_error(file, args.Mark(), "exec 'args' must be a list"));
    for (const auto& a : args) {
      if (!a.IsScalar()) return fail(config_error(file, a.Mark(), "exec 'args' must be strings"));
      e.args.push_back(a.Scalar());
    }
  }
  if (const YAML::Node env = node["env"]; env && !env.IsNull()) {
    if (!env.IsSequence()) return fail(config_error(file, env.Mark(), "exec 'env' must be a list of name/value maps"));
    for (const auto& item : env) {
      auto name = scalar(item, "name", file);
      auto value = scalar(item, "value", file);
      if (!name) return fail(name.error());
      if (!value) return fail(value.error());
      e.env.emplace_back(*name, *value);
    }
  }
  return e;
}

expected<UserConfig> read_user(const Entry& entry) {
  UserConfig u;
  const std::string& f = entry.file;
  auto token = scalar(entry.body, "token", f);
  auto token_file = scalar(entry.body, "tokenFile", f);
  auto cert = scalar(entry.body, "client-certificate", f);
  auto key = scalar(entry.body, "client-key", f);
  auto cert_data = data_field(entry.body, "client-certificate-data", f);
  auto key_data = data_field(entry.body, "client-key-data", f);
  auto username = scalar(entry.body, "username", f);
  auto password = scalar(entry.body, "password", f);
  for (const auto* r : {&token, &token_file, &cert, &key, &cert_data, &key_data, &username, &password}) {
    if (!*r) return fail(r->error());
  }
  u.token = *token;
  u.token_file = resolve(*token_file, f);
  u.client_certificate = resolve(*cert, f);
  u.client_key = resolve(*key, f);
  u.client_certificate_data = *cert_data;
  u.client_key_data = *key_data;
  u.username = *username;
  u.password = *password;
  if (const YAML::Node exec = entry.body["exec"]; exec && !exec.IsNull()) {
    auto e = read_exec(exec, f);
    if (!e) return fail(e.error());
    u.exec = std::move(*e);
  }
  return u;
}

expected<Merged> merge(const LoadOptions& options) {
  auto files = files_to_read(options);
  if (!files) return fail(files.error());
  Merged merged;
  for (const auto& file : *files) {
    if (auto r = merge_file(file, merged); !r) return fail(r.error());
  }
  return merged;
}

std::string sources(const std::vector<std::string>& files) {
  return files.empty() ? std::string("no kubeconfig file") : base::join(files, ", ");
}

expected<ClientConfig> in_cluster(const LoadOptions& options) {
  ClientConfig c;
  c.in_cluster = true;
  std::string host = *options.service_host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";  // IPv6
  c.cluster.server = "https://" + host + ":" + options.service_port.value_or("443");
  c.cluster.certificate_authority = base::join_path(options.service_account_dir, "ca.crt");
  c.user.token_file = base::join_path(options.service_account_dir, "token");
  if (!options.namespace_.empty()) {
    c.namespace_ = options.namespace_;
  } else if (auto ns = base::read_file(base::join_path(options.service_account_dir, "namespace"), 256); ns && !ns->empty()) {
    c.namespace_ = base::split_lines(*ns).front();
  } else {
    c.namespace_ = "default";
  }
  return c;
}

}  // namespace

LoadOptions LoadOptions::from_environment() {
  LoadOptions o;
  auto env = [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
  o.kubeconfig_env = env("KUBECONFIG");
  o.home = env("HOME").value_or("");
  o.service_host = env("KUBERNETES_SERVICE_HOST");
  o.service_port = env("KUBERNETES_SERVICE_PORT");
  return o;
}

std::string ClientConfig::describe() const {
  if (in_cluster) return "the in-cluster service account (server " + cluster.server + ")";
  return "context '" + context + "' (server " + cluster.server + ", from " + sources(files) + ")";
}

expected<std::vector<std::string>> list_contexts(const LoadOptions& options) {
  auto merged = merge(options);
  if (!merged) return fail(merged.error());
  return merged->context_order;
}

expected<ClientConfig> load_client_config(const LoadOptions& options) {
  auto merged = merge(options);
  if (!merged) return fail(merged.error());
  const bool have_service_account = options.service_host && !options.service_host->empty() &&
                                    exists(base::join_path(options.service_account_dir, "token"));
  if (merged->contexts.empty() && options.context.empty() && have_service_account) return in_cluster(options);

  const std::string name = options.context.empty() ? merged->current_context : options.context;
  if (name.empty()) {
    return fail(base::usage_error("no Kubernetes context is selected", "read " + sources(merged->files) +
                                                                           " and none sets current-context",
                                  merged->context_order.empty()
                                      ? "point KUBECONFIG or --kubeconfig at a cluster's kubeconfig"
                                      : "pass --context (one of: " + base::join(merged->context_order, ", ") + ")"));
  }
  auto ctx = merged->contexts.find(name);
  if (ctx == merged->contexts.end()) {
    Error e = base::usage_error("no context named '" + base::printable(name) + "'", "read " + sources(merged->files));
    if (auto near = base::suggest(name, merged->context_order); !near.empty()) {
      e.hint = "did you mean '" + near.front() + "'?";
    } else if (!merged->context_order.empty()) {
      e.hint = "contexts: " + base::join(merged->context_order, ", ");
    } else {
      e.hint = "the kubeconfig defines no contexts";
    }
    return fail(std::move(e));
  }
  const Entry& context = ctx->second;
  auto cluster_name = scalar(context.body, "cluster", context.file);
  auto user_name = scalar(context.body, "user", context.file);
  auto ns = scalar(context.body, "namespace", context.file);
  if (!cluster_name) return fail(cluster_name.error());
  if (!user_name) return fail(user_name.error());
  if (!ns) return fail(ns.error());

  ClientConfig c;
  c.context = name;
  c.cluster_name = *cluster_name;
  c.user_name = *user_name;
  c.files = merged->files;
  c.namespace_ = !options.namespace_.empty() ? options.namespace_ : !ns->empty() ? *ns : "default";

  // What the context refers to, or an error at the context's line.
  auto referenced = [&](const std::map<std::string, Entry>& entries, const std::string& entry,
                        const char* what) -> expected<const Entry*> {
    auto it = entries.find(entry);
    if (it != entries.end()) return &it->second;
    return fail(config_error(context.file, context.body.Mark(),
                             "context '" + base::printable(name) + "' names " + what + " '" + base::printable(entry) +
                                 "', which no kubeconfig file defines"));
  };
  auto cluster = referenced(merged->clusters, *cluster_name, "cluster");
  if (!cluster) return fail(cluster.error());
  auto cc = read_cluster(**cluster);
  if (!cc) return fail(cc.error());
  c.cluster = std::move(*cc);
  if (c.cluster.server.empty()) {
    return fail(config_error((*cluster)->file, (*cluster)->body.Mark(),
                             "cluster '" + base::printable(*cluster_name) + "' has no server"));
  }
  if (!user_name->empty()) {
    auto user = referenced(merged->users, *user_name, "user");
    if (!user) return fail(user.error());
    auto uc = read_user(**user);
    if (!uc) return fail(uc.error());
    c.user = std::move(*uc);
  }
  return c;
}

}  // namespace harmony::kube
