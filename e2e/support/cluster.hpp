#pragma once
// The test cluster (e2e/cluster, CTest fixture `kube_cluster`), as tests use
// it: its kubeconfig and tools. Without one, the calling test exits 77
// (skipped) saying why.

#include <string>
#include <vector>

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

}  // namespace harmony::e2e
