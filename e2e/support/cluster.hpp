#pragma once
// The test cluster (e2e/cluster, CTest fixture `kube_cluster`), as tests use
// it: its kubeconfig and tools. Without one, the calling test exits 77
// (skipped) saying why.

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

}  // namespace harmony::e2e
