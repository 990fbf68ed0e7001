#pragma once
// The fleet's Scores: one per component of the fleet stack (docs/fleet.md).
//
//   FleetNatsScore      NATS with JetStream and the fleet's accounts
//   FleetAgentScore     the device agents (fleet-agent)
//   FleetOperatorScore  the fleet operator: CRDs and its chart      (Kubernetes)
//   FleetCalloutScore   the NATS auth callout service
//   ZitadelScore        the identity provider                        (Kubernetes)
//
// FleetServerScore, the control plane, is their composition: the `server`
// group of harmony-fleet (main.cpp): NATS, the operator, Zitadel (left out
// when callout.issuer_url names another provider) and the callout.
//
// Each Score states what it needs from a topology. NATS and the agents run
// as processes where a topology supervises processes (`local`), and as
// Kubernetes objects where it manages a cluster (`kubeconfig`, `k3d`;
// kubernetes.hpp). The operator and Zitadel run only on Kubernetes.

#include <memory>
#include <string>

#include <harmony/capabilities.hpp>
#include <harmony/fleet/operator.hpp>
#include <harmony/fleet/config.hpp>
#include <harmony/fleet/kubernetes.hpp>
#include <harmony/fleet/settings.hpp>
#include <harmony/fleet/stack.hpp>
#include <harmony/fleet/zitadel.hpp>
#include <harmony/score.hpp>

namespace harmony::fleet {

class FleetNatsScore {
 public:
  using Settings = NatsSettings;
  using capabilities = any_of<needs<capability::ProcessSupervision, capability::FileStorage, capability::EndpointReach>,
                              needs<capability::Kubernetes>>;

  explicit FleetNatsScore(Settings settings) : settings_(std::move(settings)) {}
  [[nodiscard]] std::string name() const { return "fleet NATS"; }
  [[nodiscard]] const Settings& settings() const { return settings_; }
  // k3d maps it to the same port on 127.0.0.1.
  [[nodiscard]] std::vector<std::uint16_t> node_ports() const {
    if (settings_.node_port.value == 0) return {};
    return {settings_.node_port.value};
  }

  template <Topology T>
    requires ManagesKubernetes<T> && TracksDeployments<T>
  std::unique_ptr<Interpret<T>> create_interpret() const {
    return interpret_with<T>([settings = settings_](T& topology, RunContext& ctx) {
      HelmReleaser* helm = nullptr;
      if constexpr (HelmReleases<T>) helm = &topology.helm();
      return deploy_nats_on_kubernetes(settings, deployed_agent_ids(topology.recorded(agent_component)),
                                       topology.kubernetes(), ctx, helm);
    });
  }

  template <Topology T>
    requires ManagesKubernetes<T> && TracksDeployments<T>
  std::unique_ptr<SmokeTest<T>> create_smoke_test() const {
    return smoke_test_with<T>([settings = settings_](T& topology, RunContext& ctx) {
      return check_nats_on_kubernetes(settings, topology.kubernetes(), ctx);
    });
  }

  template <Topology T>
    requires SupervisesProcesses<T> && StoresFiles<T> && ReachesEndpoints<T>
  std::unique_ptr<Interpret<T>> create_interpret() const {
    return interpret_with<T>([settings = settings_](T& topology, RunContext& ctx) {
      return deploy_nats(settings, topology.processes(), topology.files(), ctx);
    });
  }

  template <Topology T>
    requires SupervisesProcesses<T> && StoresFiles<T> && ReachesEndpoints<T>
  std::unique_ptr<SmokeTest<T>> create_smoke_test() const {
    return smoke_test_with<T>([settings = settings_](T& topology, RunContext& ctx) {
      return check_nats(settings, topology.processes(), topology.files(), ctx);
    });
  }

 private:
  Settings settings_;
};

// The agents connect to the NATS the topology has deployed (its recorded
// settings), with a NATS user each.
class FleetAgentScore {
 public:
  using Settings = AgentSettings;
  using capabilities =
      any_of<needs<capability::ProcessSupervision, capability::FileStorage>, needs<capability::Kubernetes>>;

  explicit FleetAgentScore(Settings settings) : settings_(std::move(settings)) {}
  [[nodiscard]] std::string name() const { return "fleet agents"; }
  [[nodiscard]] const Settings& settings() const { return settings_; }

  // One Pod per agent. Where the topology loads images into its cluster
  // (k3d), the agent's image goes in first.
  template <Topology T>
    requires ManagesKubernetes<T> && TracksDeployments<T>
  std::unique_ptr<Interpret<T>> create_interpret() const {
    return interpret_with<T>([settings = settings_](T& topology, RunContext& ctx) {
      if constexpr (ImportsImages<T>) {
        if (!ctx.dry_run())
          if (Outcome imported = topology.images().import_images(ctx, {settings.image}); imported.failed()) return imported;
      }
      return deploy_agents_on_kubernetes(settings, topology.recorded(nats_component), topology.recorded(agent_component),
                                         topology.recorded(callout_component), topology.kubernetes(), ctx);
    });
  }

  template <Topology T>
    requires ManagesKubernetes<T> && TracksDeployments<T>
  std::unique_ptr<SmokeTest<T>> create_smoke_test() const {
    return smoke_test_with<T>([settings = settings_](T& topology, RunContext& ctx) {
      return check_agents_on_kubernetes(settings, topology.recorded(nats_component), topology.kubernetes(), ctx);
    });
  }

  template <Topology T>
    requires SupervisesProcesses<T> && StoresFiles<T> && TracksDeployments<T>
  std::unique_ptr<Interpret<T>> create_interpret() const {
    return interpret_with<T>([settings = settings_](T& topology, RunContext& ctx) {
      return deploy_agents(settings, topology.recorded(nats_component), topology.recorded(callout_component),
                           topology.processes(), topology.files(), ctx);
    });
  }

  template <Topology T>
    requires SupervisesProcesses<T> && StoresFiles<T> && TracksDeployments<T>
  std::unique_ptr<SmokeTest<T>> create_smoke_test() const {
    return smoke_test_with<T>([settings = settings_](T& topology, RunContext& ctx) {
      return check_agents(settings, topology.recorded(nats_component), topology.processes(), topology.files(), ctx);
    });
  }

 private:
  Settings settings_;
};

// The fleet operator: installs the FleetDeployment and FleetDevice CRDs and
// the operator's chart (generated from this build, or a published version),
// then checks that a replica leads.
class FleetOperatorScore {
 public:
  using Settings = OperatorSettings;
  using capabilities = needs<capability::Kubernetes, capability::Helm>;

  explicit FleetOperatorScore(Settings settings) : settings_(std::move(settings)) {}
  [[nodiscard]] std::string name() const { return "fleet operator"; }
  [[nodiscard]] const Settings& settings() const { return settings_; }

  template <Topology T>
    requires ManagesKubernetes<T> && HelmReleases<T> && TracksDeployments<T>
  std::unique_ptr<Interpret<T>> create_interpret() const {
    return interpret_with<T>([settings = settings_](T& topology, RunContext& ctx) {
      if constexpr (ImportsImages<T>) {
        if (!ctx.dry_run())
          if (Outcome imported = topology.images().import_images(ctx, {settings.image}); imported.failed()) return imported;
      }
      return deploy_operator_on_kubernetes(settings, topology.recorded(nats_component), topology.kubernetes(),
                                           topology.helm(), ctx);
    });
  }

  template <Topology T>
    requires ManagesKubernetes<T> && HelmReleases<T> && TracksDeployments<T>
  std::unique_ptr<SmokeTest<T>> create_smoke_test() const {
    return smoke_test_with<T>([](T& topology, RunContext& ctx) {
      return check_operator_on_kubernetes(topology.kubernetes(), ctx);
    });
  }

 private:
  Settings settings_;
};

// The NATS auth callout service (nats.auth=callout, nats-server 2.10+):
// NATS asks it about every login but harmony's own; it admits devices and
// operators by their identity provider's tokens. A process on `local`, with
// the keys the deploy of nats made.
class FleetCalloutScore {
 public:
  using Settings = CalloutSettings;
  using capabilities = any_of<needs<capability::ProcessSupervision, capability::FileStorage>, needs<capability::Kubernetes>>;

  explicit FleetCalloutScore(Settings settings) : settings_(std::move(settings)) {}
  [[nodiscard]] std::string name() const { return "fleet auth callout"; }
  [[nodiscard]] const Settings& settings() const { return settings_; }

  template <Topology T>
    requires SupervisesProcesses<T> && StoresFiles<T> && TracksDeployments<T>
  std::unique_ptr<Interpret<T>> create_interpret() const {
    return interpret_with<T>([settings = settings_](T& topology, RunContext& ctx) {
      return deploy_callout(settings, topology.recorded(nats_component), topology.processes(), topology.files(), ctx);
    });
  }

  template <Topology T>
    requires SupervisesProcesses<T> && StoresFiles<T> && TracksDeployments<T>
  std::unique_ptr<SmokeTest<T>> create_smoke_test() const {
    return smoke_test_with<T>([settings = settings_](T& topology, RunContext& ctx) {
      return check_callout(settings, topology.recorded(nats_component), topology.processes(), topology.files(), ctx);
    });
  }

  // A Deployment, where the topology loads images into its cluster (k3d)
  // its image first.
  template <Topology T>
    requires ManagesKubernetes<T> && TracksDeployments<T>
  std::unique_ptr<Interpret<T>> create_interpret() const {
    return interpret_with<T>([settings = settings_](T& topology, RunContext& ctx) {
      if constexpr (ImportsImages<T>) {
        if (!ctx.dry_run())
          if (Outcome imported = topology.images().import_images(ctx, {settings.image}); imported.failed()) return imported;
      }
      return deploy_callout_on_kubernetes(settings, topology.recorded(nats_component), topology.recorded(agent_component),
                                          topology.recorded(zitadel_component), topology.kubernetes(), ctx);
    });
  }

  template <Topology T>
    requires ManagesKubernetes<T> && TracksDeployments<T>
  std::unique_ptr<SmokeTest<T>> create_smoke_test() const {
    return smoke_test_with<T>([settings = settings_](T& topology, RunContext& ctx) {
      return check_callout_on_kubernetes(settings, topology.recorded(nats_component), topology.kubernetes(), ctx);
    });
  }

 private:
  Settings settings_;
};

// Zitadel, the identity provider agents and operators log in with: its
// chart at a pinned version, Postgres beside it (or an external one), then
// the fleet's project, role, application and a machine user with a key per
// device, made through Zitadel's API (zitadel.hpp).
class ZitadelScore {
 public:
  using Settings = ZitadelSettings;
  using capabilities = needs<capability::Kubernetes>;

  explicit ZitadelScore(Settings settings) : settings_(std::move(settings)) {}
  [[nodiscard]] std::string name() const { return "Zitadel"; }
  [[nodiscard]] const Settings& settings() const { return settings_; }

  template <Topology T>
    requires ManagesKubernetes<T> && HelmReleases<T>
  std::unique_ptr<Interpret<T>> create_interpret() const {
    return interpret_with<T>([settings = settings_](T& topology, RunContext& ctx) {
      return deploy_zitadel_on_kubernetes(settings, topology.kubernetes(), topology.helm(), ctx);
    });
  }

  template <Topology T>
    requires ManagesKubernetes<T> && HelmReleases<T>
  std::unique_ptr<SmokeTest<T>> create_smoke_test() const {
    return smoke_test_with<T>([settings = settings_](T& topology, RunContext& ctx) {
      return check_zitadel_on_kubernetes(settings, topology.kubernetes(), ctx);
    });
  }

 private:
  Settings settings_;
};

}  // namespace harmony::fleet
