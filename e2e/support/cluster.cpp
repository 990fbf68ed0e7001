#include "cluster.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <iostream>
#include <stdexcept>

#include <harmony/base/files.hpp>
#include <harmony/base/process.hpp>
#include <harmony/base/text.hpp>

#include "eventually.hpp"

namespace harmony::e2e {

const TestCluster& test_cluster() {
  static const TestCluster c = [] {
    const char* state = std::getenv("HARMONY_CLUSTER_STATE");
    if (state == nullptr || *state == '\0') {
      std::cout << "SKIPPED: no test cluster (HARMONY_CLUSTER_STATE is not set; e2e/cluster/up could not start one here)"
                << std::endl;
      std::exit(77);
    }
    auto env = base::read_file(std::string(state) + "/cluster.env");
    if (!env) {
      // The fixture keeps the reason it could not start one beside the state.
      auto why = base::read_file(std::string(state) + ".skipped");
      std::cout << "SKIPPED: no test cluster at " << state << ": "
                << (why && !why->empty() ? base::split_lines(*why).front() : std::string("it is not running")) << std::endl;
      std::exit(77);
    }
    TestCluster out;
    out.state = state;
    for (const auto& line : base::split_lines(*env)) {
      const auto eq = line.find('=');
      if (eq == std::string::npos || line.front() == '#') continue;
      const std::string key = line.substr(0, eq), value = line.substr(eq + 1);
      if (key == "KUBECONFIG") out.kubeconfig = value;
      if (key == "HARMONY_CLUSTER_KUBECTL") out.kubectl = value;
      if (key == "HARMONY_CLUSTER_HELM") out.helm = value;
      if (key == "HARMONY_CLUSTER_NODE_IP") out.node_ip = value;
      if (key == "HARMONY_CLUSTER_BUSYBOX_IMAGE") out.busybox_image = value;
    }
    return out;
  }();
  return c;
}

base::ProcessResult kubectl(const std::vector<std::string>& args, const std::string& stdin_data) {
  base::ProcessSpec spec;
  spec.argv = {test_cluster().kubectl, "--kubeconfig", test_cluster().kubeconfig};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  if (!stdin_data.empty()) {
    spec.stdin_mode = base::StdinMode::data;
    spec.stdin_data = stdin_data;
  }
  spec.timeout = std::chrono::seconds(60);
  auto r = base::run_process(spec);
  if (!r) throw std::runtime_error("cannot run kubectl: " + r.error().message);
  return *r;
}

base::ProcessResult helm_cli(const std::vector<std::string>& args) {
  base::ProcessSpec spec;
  spec.argv = {test_cluster().helm, "--kubeconfig", test_cluster().kubeconfig};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  spec.timeout = std::chrono::seconds(120);
  auto r = base::run_process(spec);
  if (!r) throw std::runtime_error("cannot run helm: " + r.error().message);
  return *r;
}

std::string busybox_chart(const std::string& path) {
  auto made = helm_cli({"create", path});
  if (!made.ok()) throw std::runtime_error("helm create failed: " + made.err);
  const std::string deployment = path + "/templates/deployment.yaml";
  auto text = base::read_file(deployment);
  const std::string after = "imagePullPolicy: {{ .Values.image.pullPolicy }}\n";
  const auto at = text ? text->find(after) : std::string::npos;
  if (at == std::string::npos) throw std::runtime_error("helm create's deployment.yaml is not as expected");
  text->insert(at + after.size(),
               "          {{- with .Values.command }}\n"
               "          command:\n"
               "            {{- toYaml . | nindent 12 }}\n"
               "          {{- end }}\n");
  if (!base::write_file_atomically(deployment, *text)) throw std::runtime_error("cannot write " + deployment);
  return path;
}

nlohmann::json busybox_chart_values(int replicas) {
  const std::string& image = test_cluster().busybox_image;
  const auto colon = image.rfind(':');
  return {{"replicaCount", replicas},
          {"image", {{"repository", image.substr(0, colon)}, {"tag", image.substr(colon + 1)}, {"pullPolicy", "Never"}}},
          {"command", {"sleep", "3600"}},
          {"livenessProbe", nullptr},
          {"readinessProbe", nullptr}};
}

LoopbackServer::LoopbackServer(std::vector<std::string> argv, const std::string& log, const std::string& marker) {
  base::DetachedSpec spec;
  spec.argv = std::move(argv);
  spec.log_path = log;
  auto started = base::spawn_detached(spec, [](const base::ProcessIdentity&) { return base::expected<void>{}; });
  REQUIRE(started);
  id = *started;
  REQUIRE(testing::eventually([&] {
    const std::string said = base::read_file(log).value_or("");
    const auto at = said.find(marker);
    if (at == std::string::npos) return false;
    const auto from = at + marker.size();
    port = said.substr(from, said.find_first_not_of("0123456789", from) - from);
    return !port.empty();
  }));
}

LoopbackServer::~LoopbackServer() {
  if (id) (void)base::terminate_process(*id, std::chrono::seconds(2));
}

LoopbackChartRepository::LoopbackChartRepository(const std::vector<std::string>& chart_dirs, const std::string& repo_dir) {
  auto run = [](std::vector<std::string> argv) {
    base::ProcessSpec spec;
    spec.argv = std::move(argv);
    spec.timeout = std::chrono::seconds(60);
    auto r = base::run_process(spec);
    REQUIRE(r);
    INFO(r->out + r->err);
    REQUIRE(r->exit_code == 0);
  };
  for (const auto& chart : chart_dirs) run({test_cluster().helm, "package", chart, "-d", repo_dir});
  auto python = base::find_program("python3", "/usr/bin:/bin");
  REQUIRE(python);
  server = std::make_unique<LoopbackServer>(
      std::vector<std::string>{*python, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1", "--directory", repo_dir},
      repo_dir + "/web.log", " port ");
  url = "http://127.0.0.1:" + server->port;
  run({test_cluster().helm, "repo", "index", repo_dir, "--url", url});
}

}  // namespace harmony::e2e
