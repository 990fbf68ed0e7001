// The k3d topology: a local k3d cluster, created when missing, driven
// through the `k3d` CLI (v5). Everything past the cluster is the Kubernetes
// topology's (kubernetes.cpp).

#include <harmony/topologies/kubernetes.hpp>

#include <algorithm>
#include <filesystem>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <set>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <harmony/base/files.hpp>
#include <harmony/base/names.hpp>
#include <harmony/base/paths.hpp>
#include <harmony/base/process.hpp>
#include <harmony/base/text.hpp>
#include <harmony/base/version.hpp>
#include <harmony/errors.hpp>
#include <harmony/kube/client.hpp>

namespace harmony::topologies {

using base::expected;
using base::fail;
using nlohmann::json;
namespace exit_status = base::exit_status;

namespace {

constexpr std::string_view k3d_install = "install k3d 5 or later: https://k3d.io/#installation";
constexpr std::string_view docker_install = "install and start Docker: https://docs.docker.com/engine/install/";

const char* env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && v[0] != '\0' ? v : fallback;
}

// A free port on the host address, for the cluster's API server: k3d would
// otherwise pick one on every interface.
expected<std::uint16_t> free_port(const std::string& host) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(base::make_error("cannot pick a port for the k3d API server", "socket() failed"));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = 0;
  ::inet_pton(AF_INET, host.c_str(), &a.sin_addr);
  socklen_t len = sizeof a;
  const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
  ::close(fd);
  if (!ok) return fail(base::make_error("cannot pick a port for the k3d API server on " + host));
  return ntohs(a.sin_port);
}

void remove_tree(const std::string& dir) {
  std::error_code ignored;  // what is left is only harmony's own state
  std::filesystem::remove_all(dir, ignored);
}

}  // namespace

struct K3d::Cluster {
  std::string name;
  std::string dir;         // $XDG_STATE_HOME/harmony/k3d/<name>
  std::string host_ip;
  std::vector<std::uint16_t> node_ports;
  std::optional<json> listed;  // the cluster as `k3d cluster list -o json` shows it; null: none
  bool checked_tools = false;

  [[nodiscard]] std::string kubeconfig() const { return base::join_path(dir, "kubeconfig"); }
  [[nodiscard]] std::string marker() const { return base::join_path(dir, "created-by-harmony"); }

  // Runs k3d; a failure is an error carrying k3d's own words.
  expected<base::ProcessResult> k3d(const std::vector<std::string>& args, std::chrono::milliseconds timeout,
                                    const std::string& doing) const {
    base::ProcessSpec spec;
    spec.argv = {"k3d"};
    spec.argv.insert(spec.argv.end(), args.begin(), args.end());
    spec.timeout = timeout;
    auto r = base::run_process(spec);
    if (!r) {
      base::Error e = r.error();
      e.hint = std::string(k3d_install);
      return fail(std::move(e));
    }
    if (!r->ok()) {
      std::string said = base::printable(r->err.empty() ? r->out : r->err);
      if (said.size() > 2000) said = said.substr(said.size() - 2000);
      return fail(error_with(exit_status::deploy_failed, "k3d could not " + doing, r->describe() + ":\n" + said,
                             "run the same k3d command by hand to see more: k3d " + base::join(args, " ")));
    }
    return r;
  }

  expected<void> check_tools() {
    if (checked_tools) return {};
    // k3d's own rule, and the name is also a directory of harmony's state.
    if (name.size() > 32 || !base::is_dns_label(name))
      return fail(base::usage_error("'" + base::printable(name) + "' cannot be a k3d cluster name",
                                    "k3d cluster names are at most 32 lowercase letters, digits and '-', starting and "
                                    "ending with a letter or digit",
                                    "choose another with --cluster"));
    const char* path = env_or("PATH", "/usr/bin:/bin");
    if (!base::find_program("docker", path))
      return fail(error_with(exit_status::unsupported, "the k3d topology needs docker", "docker is not in PATH",
                             std::string(docker_install)));
    if (!base::find_program("k3d", path))
      return fail(error_with(exit_status::unsupported, "the k3d topology needs k3d", "k3d is not in PATH",
                             std::string(k3d_install)));
    base::ProcessSpec docker;
    docker.argv = {"docker", "version", "--format", "{{.Server.Version}}"};
    docker.timeout = std::chrono::seconds(20);
    auto d = base::run_process(docker);
    if (!d || !d->ok())
      return fail(error_with(exit_status::unsupported, "docker does not answer",
                             d ? base::printable(d->err) : d.error().message,
                             "start the Docker engine (and check that you may use its socket): " +
                                 std::string(docker_install)));
    auto v = k3d({"version"}, std::chrono::seconds(20), "tell its version");
    if (!v) return fail(v.error());
    // "k3d version v5.6.3"
    std::string version;
    for (const auto& line : base::split_lines(v->out))
      if (line.starts_with("k3d version ")) version = line.substr(12);
    auto parsed = base::Version::parse(version.starts_with("v") ? version.substr(1) : version);
    if (!parsed || parsed->major < 5)
      return fail(error_with(exit_status::unsupported, "k3d " + (version.empty() ? "(unknown version)" : version) +
                                                           " is not supported",
                             "the k3d topology needs k3d 5 or later", std::string(k3d_install)));
    checked_tools = true;
    return {};
  }

  // What k3d knows about the cluster (none: nullopt inside).
  expected<void> look() {
    auto r = k3d({"cluster", "list", "-o", "json"}, std::chrono::seconds(30), "list its clusters");
    if (!r) return fail(r.error());
    json all = json::parse(r->out, nullptr, false);
    if (!all.is_array())
      return fail(base::make_error("k3d's list of clusters is not JSON", base::printable(r->out.substr(0, 200)),
                                   "is this k3d 5 or later?"));
    listed = json();
    for (const auto& c : all)
      if (c.is_object() && c.value("name", "") == name) listed = c;
    return {};
  }

  [[nodiscard]] bool exists() const { return listed && !listed->is_null(); }

  [[nodiscard]] bool running() const {
    return exists() && listed->value("serversRunning", 0) >= std::max(1, listed->value("serversCount", 1));
  }

  // Node ports the cluster maps on the host ("30423/tcp" in a node's
  // portMappings).
  [[nodiscard]] std::set<std::uint16_t> mapped() const {
    std::set<std::uint16_t> ports;
    if (!exists() || !listed->contains("nodes")) return ports;
    for (const auto& node : (*listed)["nodes"]) {
      if (!node.contains("portMappings") || !node["portMappings"].is_object()) continue;
      for (const auto& [key, bindings] : node["portMappings"].items()) {
        try {
          ports.insert(static_cast<std::uint16_t>(std::stoi(key)));
        } catch (const std::exception&) {
        }
      }
    }
    return ports;
  }

  expected<void> write_kubeconfig() const {
    auto r = k3d({"kubeconfig", "get", name}, std::chrono::seconds(30), "give the kubeconfig of cluster '" + name + "'");
    if (!r) return fail(r.error());
    if (auto made = base::make_directories(dir, 0700); !made) return fail(made.error());
    auto current = base::read_file(kubeconfig());
    if (current && *current == r->out) return {};
    return base::write_file_atomically(kubeconfig(), r->out, 0600);
  }

  expected<void> create(RunContext& ctx, const std::string& plugin) {
    auto api = free_port(host_ip);
    if (!api) return fail(api.error());
    const auto wait = std::clamp<long long>(std::chrono::duration_cast<std::chrono::seconds>(ctx.remaining()).count(), 30, 3600);
    std::vector<std::string> args{"cluster", "create", name,
                                  "--api-port", host_ip + ":" + std::to_string(*api),
                                  "--wait", "--timeout", std::to_string(wait) + "s",
                                  "--kubeconfig-update-default=false", "--kubeconfig-switch-context=false"};
    if (const char* image = std::getenv("HARMONY_K3S_IMAGE"); image != nullptr && image[0] != '\0')
      args.insert(args.end(), {"--image", image});
    for (auto port : node_ports)
      args.insert(args.end(), {"--port", host_ip + ":" + std::to_string(port) + ":" + std::to_string(port) + "@server:0"});
    if (ctx.reporter != nullptr) ctx.warn("creating k3d cluster '" + name + "' (this takes a while the first time)");
    if (auto made = base::make_directories(dir, 0700); !made) return fail(made.error());
    // The marker first: a cluster half-made by harmony is still harmony's to delete.
    if (auto marked = base::write_file_atomically(marker(), plugin + "\n", 0600); !marked) return fail(marked.error());
    auto r = k3d(args, std::chrono::seconds(wait + 30), "create cluster '" + name + "'");
    if (!r) return fail(r.error());
    return look();
  }
};

K3d::K3d(const TopologyEnvironment& environment)
    : KubernetesTopology(environment, std::string(name)), cluster_(std::make_unique<Cluster>()) {
  Cluster& c = *cluster_;
  c.name = environment.cluster.empty() ? "harmony" : environment.cluster;
  // Shared by every plugin that uses the cluster: beside the plugins' state.
  c.dir = base::join_path(base::join_path(base::parent_dir(environment.state_root), "k3d"), c.name);
  c.host_ip = env_or("HARMONY_K3D_HOST_IP", "127.0.0.1");
}

K3d::~K3d() = default;

std::string K3d::cluster_name() const { return cluster_->name; }

void K3d::expose_node_ports(const std::vector<std::uint16_t>& ports) {
  for (auto p : ports)
    if (std::find(cluster_->node_ports.begin(), cluster_->node_ports.end(), p) == cluster_->node_ports.end())
      cluster_->node_ports.push_back(p);
}

bool K3d::reachable_without_creating() const {
  Cluster& c = *cluster_;
  if (!c.listed) {
    if (auto tools = c.check_tools(); !tools) throw tools.error();
    if (auto seen = c.look(); !seen) throw seen.error();
  }
  if (!c.exists()) return false;
  if (!c.running())
    throw error_with(exit_status::unreachable, "k3d cluster '" + c.name + "' is stopped", "its servers are not running",
                     "start it: k3d cluster start " + c.name);
  if (auto written = c.write_kubeconfig(); !written) throw written.error();
  return true;
}

expected<kube::LoadOptions> K3d::load_options() const {
  kube::LoadOptions load = kube::LoadOptions::from_environment();
  load.explicit_path = cluster_->kubeconfig();
  load.context = "k3d-" + cluster_->name;
  return load;
}

expected<Outcome> K3d::ensure_ready(RunContext& ctx) {
  Cluster& c = *cluster_;
  if (auto tools = c.check_tools(); !tools) return fail(tools.error());
  if (auto seen = c.look(); !seen) return fail(seen.error());
  std::string made;
  if (!c.exists()) {
    if (ctx.operation != "deploy") return Outcome::no_change("k3d cluster '" + c.name + "' does not exist");
    if (auto created = c.create(ctx, environment().plugin); !created) return fail(created.error());
    made = "created k3d cluster '" + c.name + "'";
  } else if (!c.running()) {
    if (auto started = c.k3d({"cluster", "start", c.name}, std::chrono::minutes(5), "start cluster '" + c.name + "'");
        !started)
      return fail(started.error());
    if (auto seen = c.look(); !seen) return fail(seen.error());
    made = "started k3d cluster '" + c.name + "'";
  }
  const auto mapped = c.mapped();
  for (auto port : c.node_ports)
    if (!mapped.count(port))
      ctx.warn("k3d cluster '" + c.name + "' does not map node port " + std::to_string(port) +
               " on the host (it was created without it): recreate the cluster, or run: k3d cluster edit " + c.name +
               " --port-add " + c.host_ip + ":" + std::to_string(port) + ":" + std::to_string(port) + "@loadbalancer");
  if (auto written = c.write_kubeconfig(); !written) return fail(written.error());
  disconnect();
  // A cluster just made answers a little after k3d returns.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(made.empty() ? 0 : 60);
  while (true) {
    auto api = client(ctx);
    if (api) {
      if (auto v = (*api)->server_version(); v) break;
      if (std::chrono::steady_clock::now() >= until) return fail((*api)->server_version().error());
    } else if (std::chrono::steady_clock::now() >= until) {
      return fail(api.error());
    }
    disconnect();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    if (ctx.interrupted()) return fail(interrupted_error());
  }
  auto ready = KubernetesTopology::ensure_ready(ctx);
  if (!ready || made.empty()) return ready;
  return Outcome::success(made);
}

expected<Outcome> K3d::destroy(RunContext& ctx, const DestroyOptions& options) {
  Cluster& c = *cluster_;
  Outcome outcome = Outcome::no_change("nothing to do");
  if (!ctx.component.empty()) {
    if (auto seen = c.look(); !seen) return fail(seen.error());
    if (c.exists()) {
      auto removed = KubernetesTopology::destroy(ctx, options);
      if (!removed) return removed;
      outcome = *removed;
    }
  }
  if (!options.delete_cluster) return outcome;
  if (auto tools = c.check_tools(); !tools) return fail(tools.error());
  if (auto seen = c.look(); !seen) return fail(seen.error());
  if (!c.exists()) {
    remove_tree(c.dir);
    return Outcome::success(outcome.message + (ctx.component.empty() ? "" : "; ") + "k3d cluster '" + c.name +
                            "' does not exist");
  }
  auto marker = base::read_file(c.marker());
  if (!marker) {
    ctx.warn("k3d cluster '" + c.name + "' was not created by harmony: it stays (delete it yourself: k3d cluster delete " +
             c.name + ")");
    return outcome;
  }
  // Shared by every plugin: not while another one has something deployed.
  if (c.running()) {
    if (auto api = client(ctx); api) {
      kube::ListOptions records;
      records.label_selector = "harmony.dev/record=true";
      auto found = (*api)->list("v1", "Secret", "", records);
      if (!found) return fail(found.error());
      std::set<std::string> others;
      for (const auto& r : found->items)
        for (const auto& [k, v] : r.strings_at("/metadata/labels"))
          if (k == "harmony.dev/plugin" && v != environment().plugin) others.insert(v + " (namespace " + r.namespace_() + ")");
      if (!others.empty()) {
        ctx.warn("k3d cluster '" + c.name + "' stays: other plugins have components deployed in it: " +
                 base::join({others.begin(), others.end()}, ", "));
        return outcome;
      }
    }
  }
  if (auto gone = c.k3d({"cluster", "delete", c.name}, std::chrono::minutes(5), "delete cluster '" + c.name + "'"); !gone)
    return fail(gone.error());
  disconnect();
  remove_tree(c.dir);
  return Outcome::success((ctx.component.empty() ? std::string() : outcome.message + "; ") + "deleted k3d cluster '" +
                          c.name + "'");
}

Outcome K3d::import_images(RunContext& ctx, const std::vector<std::string>& images) {
  if (images.empty()) return Outcome::no_change("no images to import");
  if (ctx.dry_run()) return Outcome::no_change("would import " + base::join(images, ", "));
  std::vector<std::string> args{"image", "import"};
  args.insert(args.end(), images.begin(), images.end());
  args.insert(args.end(), {"--cluster", cluster_->name});
  auto r = cluster_->k3d(args, std::max<std::chrono::milliseconds>(ctx.remaining(), std::chrono::seconds(30)),
                         "import " + base::join(images, ", ") + " into cluster '" + cluster_->name + "'");
  if (!r) return Outcome::failure(r.error());
  return Outcome::success("imported " + base::join(images, ", "));
}

expected<Endpoint> K3d::node_endpoint(RunContext&, std::uint16_t node_port) {
  Cluster& c = *cluster_;
  if (!c.listed)
    if (auto seen = c.look(); !seen) return fail(seen.error());
  if (c.mapped().count(node_port)) return Endpoint{c.host_ip, node_port};
  return fail(error_with(exit_status::unreachable,
                         "node port " + std::to_string(node_port) + " of k3d cluster '" + c.name + "' is not mapped on the host",
                         "the cluster was created without that port mapping",
                         "recreate the cluster (harmony destroy ... --delete-cluster, then deploy), or: k3d cluster edit " +
                             c.name + " --port-add " + c.host_ip + ":" + std::to_string(node_port) + ":" +
                             std::to_string(node_port) + "@loadbalancer"));
}

}  // namespace harmony::topologies
