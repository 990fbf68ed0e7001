#pragma once
// The fleet's Scores: one per component of the fleet stack (docs/fleet.md).
//
//   FleetNatsScore      NATS with JetStream and the fleet's accounts
//   FleetAgentScore     the device agents (fleet-agent)
//   FleetOperatorScore  the fleet operator: CRDs and its chart      (Kubernetes)
//   FleetCalloutScore   the NATS auth callout service                (Kubernetes)
//   ZitadelScore        the identity provider                        (Kubernetes)
//   FleetServerScore    the control plane: NATS, operator, Zitadel and callout
//
// Each Score states what it needs from a topology. NATS and the agents run
// as processes where a topology supervises processes (`local`); the
// Kubernetes realisations (NATS's chart, the agent's Pod, the control plane)
// come with the Kubernetes topologies: their create_interpret is declared,
// constrained on ManagesKubernetes, and defined there. Until then the SDK
// refuses those Scores on `local` with its capability error.

#include <memory>
#include <string>

#include <harmony/capabilities.hpp>
#include <harmony/fleet/config.hpp>
#include <harmony/fleet/settings.hpp>
#include <harmony/fleet/stack.hpp>
#include <harmony/score.hpp>

namespace harmony::fleet {

class FleetNatsScore {
 public:
  using Settings = NatsSettings;
  using capabilities = needs<capability::ProcessSupervision, capability::FileStorage, capability::EndpointReach>;

  explicit FleetNatsScore(Settings settings) : settings_(std::move(settings)) {}
  [[nodiscard]] std::string name() const { return "fleet NATS"; }
  [[nodiscard]] const Settings& settings() const { return settings_; }

  template <Topology T>
    requires SupervisesProcesses<T> && StoresFiles<T> && ReachesEndpoints<T>
  std::unique_ptr<Interpret<T>> create_interpret() const {
    struct Deploy final : Interpret<T> {
      explicit Deploy(Settings s) : settings(std::move(s)) {}
      Outcome execute(T& topology, const Inventory&, RunContext& ctx) override {
        return deploy_nats(settings, topology.processes(), topology.files(), ctx);
      }
      Settings settings;
    };
    return std::make_unique<Deploy>(settings_);
  }

  template <Topology T>
    requires SupervisesProcesses<T> && StoresFiles<T> && ReachesEndpoints<T>
  std::unique_ptr<SmokeTest<T>> create_smoke_test() const {
    struct Check final : SmokeTest<T> {
      explicit Check(Settings s) : settings(std::move(s)) {}
      base::expected<void> run(T& topology, RunContext& ctx) override {
        return check_nats(settings, topology.processes(), topology.files(), ctx);
      }
      Settings settings;
    };
    return std::make_unique<Check>(settings_);
  }

 private:
  Settings settings_;
};

// The agents connect to the NATS the topology has deployed (its recorded
// settings), with a NATS user each.
class FleetAgentScore {
 public:
  using Settings = AgentSettings;
  using capabilities = needs<capability::ProcessSupervision, capability::FileStorage>;

  explicit FleetAgentScore(Settings settings) : settings_(std::move(settings)) {}
  [[nodiscard]] std::string name() const { return "fleet agents"; }
  [[nodiscard]] const Settings& settings() const { return settings_; }

  template <Topology T>
    requires SupervisesProcesses<T> && StoresFiles<T> && TracksDeployments<T>
  std::unique_ptr<Interpret<T>> create_interpret() const {
    struct Deploy final : Interpret<T> {
      explicit Deploy(Settings s) : settings(std::move(s)) {}
      Outcome execute(T& topology, const Inventory&, RunContext& ctx) override {
        return deploy_agents(settings, topology.recorded(nats_component), topology.processes(), topology.files(), ctx);
      }
      Settings settings;
    };
    return std::make_unique<Deploy>(settings_);
  }

  template <Topology T>
    requires SupervisesProcesses<T> && StoresFiles<T> && TracksDeployments<T>
  std::unique_ptr<SmokeTest<T>> create_smoke_test() const {
    struct Check final : SmokeTest<T> {
      explicit Check(Settings s) : settings(std::move(s)) {}
      base::expected<void> run(T& topology, RunContext& ctx) override {
        return check_agents(settings, topology.recorded(nats_component), topology.processes(), topology.files(), ctx);
      }
      Settings settings;
    };
    return std::make_unique<Check>(settings_);
  }

 private:
  Settings settings_;
};

// The control-plane Scores below run only on Kubernetes.
#define HARMONY_FLEET_KUBERNETES_SCORE(Class, SettingsType, Name)            \
  class Class {                                                             \
   public:                                                                  \
    using Settings = SettingsType;                                          \
    using capabilities = needs<capability::Kubernetes>;                     \
    explicit Class(Settings settings) : settings_(std::move(settings)) {}   \
    [[nodiscard]] std::string name() const { return Name; }                 \
    [[nodiscard]] const Settings& settings() const { return settings_; }    \
    /* Defined with the Kubernetes topologies. */                           \
    template <Topology T>                                                   \
      requires ManagesKubernetes<T>                                         \
    std::unique_ptr<Interpret<T>> create_interpret() const;                 \
                                                                            \
   private:                                                                 \
    Settings settings_;                                                     \
  }

// The fleet operator: installs the Deployment and Device CRDs and the
// operator's chart (generated from this build, or a published version).
HARMONY_FLEET_KUBERNETES_SCORE(FleetOperatorScore, OperatorSettings, "fleet operator");
// The NATS auth callout service: lets NATS authorise agents through the
// identity provider (needs nats-server 2.10).
HARMONY_FLEET_KUBERNETES_SCORE(FleetCalloutScore, CalloutSettings, "fleet auth callout");
// Zitadel, the identity provider agents and operators log in with.
HARMONY_FLEET_KUBERNETES_SCORE(ZitadelScore, ZitadelSettings, "Zitadel");
// The control plane as one Score: NATS, the operator, Zitadel and the
// callout, in that order.
HARMONY_FLEET_KUBERNETES_SCORE(FleetServerScore, ServerSettings, "fleet server");

#undef HARMONY_FLEET_KUBERNETES_SCORE

}  // namespace harmony::fleet
