#pragma once
// The test cluster (e2e/cluster, CTest fixture `kube_cluster`), as tests use
// it: its kubeconfig and tools. Without one, the calling test exits 77
// (skipped) saying why.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <harmony/base/process.hpp>

namespace harmony::e2e {

struct TestCluster {
  std::string state;          // HARMONY_CLUSTER_STATE
  std::string kubeconfig;     // an admin client certificate
  std::string kubectl;
  std::string helm;
  std::string node_ip;
  std::string busybox_image;  // harmony.local/busybox:1, present on the node
};

const TestCluster& test_cluster();

// kubectl as the cluster's admin; `stdin_data` is fed to it.
base::ProcessResult kubectl(const std::vector<std::string>& args, const std::string& stdin_data = {});

// helm, as the cluster's admin.
base::ProcessResult helm_cli(const std::vector<std::string>& args);

// `helm create`'s chart at `path`, able to run the cluster's busybox: a
// `command` value (the chart has no place for one, so one is added); its
// values (busybox_chart_values) drop the nginx probes and pull nothing.
// Returns `path`.
std::string busybox_chart(const std::string& path);
nlohmann::json busybox_chart_values(int replicas);

// A server of the test's on loopback (a chart repository, a port-forward),
// on the port it picked and printed after `marker` in its log; stopped at
// the end.
struct LoopbackServer {
  LoopbackServer(std::vector<std::string> argv, const std::string& log, const std::string& marker);
  ~LoopbackServer();
  LoopbackServer(const LoopbackServer&) = delete;
  LoopbackServer& operator=(const LoopbackServer&) = delete;
  std::optional<base::ProcessIdentity> id;
  std::string port;
};

// `chart_dir` packaged and indexed as a publisher does (helm package, helm
// repo index) in `repo_dir`, served there by Python's http.server on
// loopback; its URL is `url`.
struct LoopbackChartRepository {
  LoopbackChartRepository(const std::vector<std::string>& chart_dirs, const std::string& repo_dir);
  std::unique_ptr<LoopbackServer> server;
  std::string url;
};

}  // namespace harmony::e2e
