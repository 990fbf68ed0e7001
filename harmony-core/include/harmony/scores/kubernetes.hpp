#pragma once
// Kubernetes Scores: the building blocks a plugin composes into its own
// Scores for the `kubeconfig` and `k3d` topologies (docs/kubernetes.md).
//
//   KubeObject<K>   one typed object (kube/kinds.hpp): KubeNamespace,
//                   KubeConfigMap, KubeServiceAccount, KubeRole,
//                   KubeRoleBinding, KubeDeployment, KubeStatefulSet,
//                   KubeService
//   KubeSecret      a Secret; keys listed in `generated` are made once (by
//                   `generate`) and read back on every later deploy
//   KubeObjects     objects without a typed struct (a CRD, custom
//                   resources), built by the Score's own code
//   KubeCustomResourceDefinition   a CRD, waited on until Established
//   HelmChart       a Helm chart release (helm 3.12+ or 4)
//
// Each applies through the topology (server-side apply, field manager
// `harmony`), so the objects are in the component's inventory: deploy waits
// until they are ready, status reads them, destroy deletes them in reverse
// order, a redeploy prunes what is no longer applied, and plan shows a
// server-side dry run's diff (a Secret's values redacted).
//
//   template <harmony::Topology T> requires harmony::ManagesKubernetes<T>
//   std::unique_ptr<harmony::Interpret<T>> create_interpret() const {
//     harmony::Composition<T> c;
//     c.add("config", scores::KubeConfigMap({.metadata = {.name = "web"}, .data = {{"greeting", s.greeting}}}));
//     c.add("web", scores::KubeDeployment({...}), {"config"});
//     return c.interpret();
//   }

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <harmony/capabilities.hpp>
#include <harmony/kube/kinds.hpp>
#include <harmony/score.hpp>

namespace harmony::scores {

namespace detail {

template <class T>
struct ApplyObjects final : Interpret<T> {
  explicit ApplyObjects(std::vector<kube::Object> o) : objects(std::move(o)) {}
  Outcome execute(T& topology, const Inventory&, RunContext& ctx) override {
    return topology.kubernetes().apply(ctx, objects);
  }
  std::vector<kube::Object> objects;
};

template <class K>
constexpr std::string_view kind_name() {
  if constexpr (std::is_same_v<K, kube::Namespace>) return "namespace";
  else if constexpr (std::is_same_v<K, kube::ConfigMap>) return "config map";
  else if constexpr (std::is_same_v<K, kube::ServiceAccount>) return "service account";
  else if constexpr (std::is_same_v<K, kube::Role>) return "role";
  else if constexpr (std::is_same_v<K, kube::RoleBinding>) return "role binding";
  else if constexpr (std::is_same_v<K, kube::Deployment>) return "deployment";
  else if constexpr (std::is_same_v<K, kube::StatefulSet>) return "stateful set";
  else if constexpr (std::is_same_v<K, kube::Service>) return "service";
  else return "object";
}

}  // namespace detail

// One typed object, applied and waited on.
template <class K>
class KubeObject {
 public:
  using Settings = K;
  using capabilities = needs<capability::Kubernetes>;

  explicit KubeObject(K object) : object_(std::move(object)) {}
  [[nodiscard]] std::string name() const { return std::string(detail::kind_name<K>()) + " " + object_.metadata.name; }
  [[nodiscard]] const Settings& settings() const { return object_; }

  template <Topology T>
    requires ManagesKubernetes<T>
  std::unique_ptr<Interpret<T>> create_interpret() const {
    return std::make_unique<detail::ApplyObjects<T>>(std::vector<kube::Object>{kube::to_object(object_)});
  }

 private:
  K object_;
};

using KubeNamespace = KubeObject<kube::Namespace>;
using KubeConfigMap = KubeObject<kube::ConfigMap>;
using KubeServiceAccount = KubeObject<kube::ServiceAccount>;
using KubeRole = KubeObject<kube::Role>;
using KubeRoleBinding = KubeObject<kube::RoleBinding>;
using KubeDeployment = KubeObject<kube::Deployment>;
using KubeStatefulSet = KubeObject<kube::StatefulSet>;
using KubeService = KubeObject<kube::Service>;

// Objects the Score's code built as kube::Object (kinds without a struct).
class KubeObjects {
 public:
  struct Settings {
    std::string what{};                  // for messages: "the fleet's CRDs"
    std::vector<kube::Object> objects{};
  };
  using capabilities = needs<capability::Kubernetes>;

  explicit KubeObjects(Settings settings) : settings_(std::move(settings)) {}
  [[nodiscard]] std::string name() const { return settings_.what.empty() ? "objects" : settings_.what; }
  [[nodiscard]] const Settings& settings() const { return settings_; }

  template <Topology T>
    requires ManagesKubernetes<T>
  std::unique_ptr<Interpret<T>> create_interpret() const {
    return std::make_unique<detail::ApplyObjects<T>>(settings_.objects);
  }

 private:
  Settings settings_;
};

// A CustomResourceDefinition (apiextensions.k8s.io/v1), built by its owner
// (from its C++ types); deploy waits until it is Established and its names
// accepted, so custom resources applied after it are served.
class KubeCustomResourceDefinition {
 public:
  using Settings = kube::Object;
  using capabilities = needs<capability::Kubernetes>;

  explicit KubeCustomResourceDefinition(kube::Object crd) : crd_(std::move(crd)) {}
  [[nodiscard]] std::string name() const { return "custom resource definition " + crd_.name(); }
  [[nodiscard]] const Settings& settings() const { return crd_; }

  template <Topology T>
    requires ManagesKubernetes<T>
  std::unique_ptr<Interpret<T>> create_interpret() const {
    return std::make_unique<detail::ApplyObjects<T>>(std::vector<kube::Object>{crd_});
  }

 private:
  kube::Object crd_;
};

// A Secret. Values in `secret.data` are applied as given; keys listed in
// `generated` get `generate()`'s value on the first deploy and keep it (read
// back from the live Secret) on every later one. Values never appear in
// plan, status or logs.
class KubeSecret {
 public:
  struct Settings {
    kube::Secret secret{};
    std::vector<std::string> generated{};
    std::function<std::string()> generate{};
  };
  using capabilities = needs<capability::Kubernetes>;

  explicit KubeSecret(Settings settings) : settings_(std::move(settings)) {}
  [[nodiscard]] std::string name() const { return "secret " + settings_.secret.metadata.name; }
  [[nodiscard]] const Settings& settings() const { return settings_; }

  template <Topology T>
    requires ManagesKubernetes<T>
  std::unique_ptr<Interpret<T>> create_interpret() const {
    struct Apply final : Interpret<T> {
      explicit Apply(Settings s) : settings(std::move(s)) {}
      Outcome execute(T& topology, const Inventory&, RunContext& ctx) override {
        auto secret = complete_secret(topology.kubernetes(), ctx, settings);
        if (!secret) return Outcome::failure(secret.error());
        return topology.kubernetes().apply(ctx, {kube::to_object(*secret)});
      }
      Settings settings;
    };
    return std::make_unique<Apply>(settings_);
  }

  // The Secret with its generated keys filled in (kept ones read back).
  static base::expected<kube::Secret> complete_secret(KubernetesCluster& cluster, RunContext& ctx, const Settings& settings);

 private:
  Settings settings_;
};

// A Helm chart release through the `helm` binary; then harmony waits on the
// release's objects like on applied ones.
class HelmChart {
 public:
  using Settings = HelmRelease;
  using capabilities = needs<capability::Helm>;

  explicit HelmChart(HelmRelease release) : release_(std::move(release)) {}
  [[nodiscard]] std::string name() const { return "helm release " + release_.name; }
  [[nodiscard]] const Settings& settings() const { return release_; }

  template <Topology T>
    requires HelmReleases<T>
  std::unique_ptr<Interpret<T>> create_interpret() const {
    struct Install final : Interpret<T> {
      explicit Install(HelmRelease r) : release(std::move(r)) {}
      Outcome execute(T& topology, const Inventory&, RunContext& ctx) override {
        return topology.helm().install_chart(ctx, release);
      }
      HelmRelease release;
    };
    return std::make_unique<Install>(release_);
  }

 private:
  HelmRelease release_;
};

}  // namespace harmony::scores
