#pragma once
// The Kubernetes topologies: `kubeconfig` (any cluster a kubeconfig reaches)
// and `k3d` (a local k3d cluster harmony creates when missing). Both keep
// what they know in the cluster, so any machine with the kubeconfig sees the
// same deployment (docs/kubernetes.md, ADR 0027):
//
//   Secret harmony.<plugin>.<component>              the record: settings,
//       type harmony.dev/deploy-record                 time, and the inventory
//                                                      of every object applied
//   Secret harmony.<plugin>.<component>.credentials  generated credentials,
//                                                      kept by destroy unless --purge
//   Lease  harmony.<plugin>                          held by deploy and destroy
//
// all in the target namespace (-n, else the plugin's default, else the
// context's). Every object applied is labelled with the plugin and the
// component; a redeploy deletes what the previous one applied and this one
// did not (the inventory is written before new objects are created, so a
// deploy that dies midway leaves nothing untracked).

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <harmony/capabilities.hpp>
#include <harmony/topology.hpp>

namespace harmony::kube {
struct LoadOptions;
}

namespace harmony::topologies {

class KubernetesTopology : public KubernetesCluster, public HelmReleaser {
 public:
  static constexpr TopologyFlags flags{true, false};

  KubernetesTopology(const TopologyEnvironment& environment, std::string topology_name);
  ~KubernetesTopology() override;  // releases the Lease
  KubernetesTopology(const KubernetesTopology&) = delete;
  KubernetesTopology& operator=(const KubernetesTopology&) = delete;

  // Connects, makes sure the namespace exists (creating it, labelled as
  // harmony's, when missing) and takes the plugin's Lease there: another
  // deploy or destroy holding it is exit_status::lock_held.
  base::expected<Outcome> ensure_ready(RunContext& ctx);

  KubernetesCluster& kubernetes() { return *this; }
  HelmReleaser& helm() { return *this; }

  // TracksDeployments. The queries read the cluster and throw base::Error
  // when it cannot be read (the runner prints it).
  base::expected<void> record(RunContext& ctx, const ComponentRecord& record);
  [[nodiscard]] std::optional<ComponentRecord> recorded(std::string_view component) const;
  [[nodiscard]] std::vector<std::string> deployed_components() const;
  std::vector<ResourceState> resources(RunContext& ctx);
  base::expected<Outcome> destroy(RunContext& ctx, const DestroyOptions& options);
  base::expected<Outcome> prune(RunContext& ctx);
  [[nodiscard]] std::vector<std::pair<std::string, std::string>> log_files(std::string_view component) const;

  // StreamsLogs: the logs of the component's pods.
  base::expected<void> logs(RunContext& ctx, std::string_view component, const LogOptions& options,
                            const std::function<void(std::string_view, std::string_view)>& sink);

  // PlansByDryRun
  base::expected<void> plan_ready(RunContext& ctx);
  base::expected<void> plan_prune(RunContext& ctx);
  void plan_record(const ComponentRecord& record);

  // KubernetesCluster
  base::expected<kube::Client*> client(RunContext& ctx) override;
  [[nodiscard]] std::string namespace_name() const override;
  Outcome apply(RunContext& ctx, const std::vector<kube::Object>& objects) override;
  base::expected<std::string> ensure_secret(RunContext& ctx, std::string_view name,
                                            const std::function<std::string()>& generate) override;
  base::expected<Endpoint> node_endpoint(RunContext& ctx, std::uint16_t node_port) override;

  // HelmReleaser
  Outcome install_chart(RunContext& ctx, const HelmRelease& release) override;

 protected:
  // Where the client connects: --kubeconfig/--context, or (k3d) the
  // cluster's own kubeconfig.
  virtual base::expected<kube::LoadOptions> load_options() const;
  [[nodiscard]] const TopologyEnvironment& environment() const;
  // Forgets the connection (k3d: the cluster was just created or deleted).
  void disconnect();
  // Whether a connection can be made without creating anything (k3d: the
  // cluster exists).
  [[nodiscard]] virtual bool reachable_without_creating() const { return true; }

 private:
  struct State;
  std::unique_ptr<State> state_;
};

class Kubeconfig final : public KubernetesTopology {
 public:
  static constexpr std::string_view name = "kubeconfig";
  static constexpr std::string_view description = "the Kubernetes cluster of a kubeconfig context";
  explicit Kubeconfig(const TopologyEnvironment& environment) : KubernetesTopology(environment, std::string(name)) {}
};

// k3d: `k3d` (>= 5) and `docker` must work. The cluster (--cluster, default
// "harmony") is created when missing, with the node ports the Scores ask for
// mapped on 127.0.0.1 (HARMONY_K3D_HOST_IP to change), and its kubeconfig is
// kept in harmony's state ($XDG_STATE_HOME/harmony/k3d/<cluster>/), never in
// ~/.kube/config. `destroy --delete-cluster` deletes it if harmony created it.
class K3d final : public KubernetesTopology, public ImageImporter {
 public:
  static constexpr std::string_view name = "k3d";
  static constexpr std::string_view description = "a local k3d cluster, created when missing";
  static constexpr TopologyFlags flags{true, true};

  explicit K3d(const TopologyEnvironment& environment);
  ~K3d() override;

  base::expected<Outcome> ensure_ready(RunContext& ctx);
  base::expected<Outcome> destroy(RunContext& ctx, const DestroyOptions& options);
  void expose_node_ports(const std::vector<std::uint16_t>& ports);
  ImageImporter& images() { return *this; }

  Outcome import_images(RunContext& ctx, const std::vector<std::string>& images) override;
  base::expected<Endpoint> node_endpoint(RunContext& ctx, std::uint16_t node_port) override;

  [[nodiscard]] std::string cluster_name() const;

 protected:
  base::expected<kube::LoadOptions> load_options() const override;
  [[nodiscard]] bool reachable_without_creating() const override;

 private:
  struct Cluster;
  std::unique_ptr<Cluster> cluster_;
};

}  // namespace harmony::topologies
