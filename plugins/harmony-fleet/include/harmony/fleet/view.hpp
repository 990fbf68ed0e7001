#pragma once
// What an operator of the fleet reads: `harmony fleet deployments`,
// `harmony fleet devices` and `harmony fleet rollout status NAME`, from the
// FleetDeployments and FleetDevices the fleet operator keeps (kubectl get
// shows the same; these add what happened on each device, and waiting).

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <harmony/base/expected.hpp>
#include <harmony/kube/client.hpp>

namespace harmony::fleet {

// `all_namespaces`: every namespace, else `namespace_`. Text is a table;
// json a document (docs/json-output.md).
base::expected<std::string> deployments_view(kube::Client& client, const std::string& namespace_, bool all_namespaces,
                                             bool json);
base::expected<std::string> devices_view(kube::Client& client, bool json);

struct RolloutOptions {
  std::string namespace_;
  std::string name;
  std::chrono::milliseconds timeout{0};  // 0: no limit, as kubectl's
  bool watch = true;                     // false: say where it is, once
};
// Waits, with a watch, until the FleetDeployment's current revision runs on
// every targeted device, printing each change of progress as kubectl
// rollout status does. Fails (deploy_failed) when devices failed and none
// is pending any more, with the last error; timed_out at the timeout.
base::expected<void> rollout_status(kube::Client& client, const RolloutOptions& options,
                                    const std::function<void(const std::string&)>& say, const std::atomic<bool>* stop);

}  // namespace harmony::fleet
