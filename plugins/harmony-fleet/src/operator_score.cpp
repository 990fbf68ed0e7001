// FleetOperatorScore on a Kubernetes topology: the CRDs by server-side
// apply, then the operator's chart (generated from this build, or a
// published one) through helm, its image first where the topology imports
// images.

#include <harmony/fleet/operator.hpp>

#include <harmony/base/exit_status.hpp>
#include <harmony/base/paths.hpp>
#include <harmony/base/text.hpp>
#include <harmony/checks.hpp>
#include <harmony/fleet/chart.hpp>
#include <harmony/fleet/config.hpp>
#include <harmony/fleet/contract.hpp>
#include <harmony/fleet/crds.hpp>
#include <harmony/fleet/kubernetes.hpp>
#include <harmony/fleet/stack.hpp>
#include <harmony/kube/client.hpp>
#include <harmony/kube/object.hpp>
#include <harmony/version.hpp>

#include "internal.hpp"

namespace harmony::fleet {
namespace {

using detail::for_component;

// Where the generated chart is written for helm: the same path on every
// deploy of this version (helm's release is compared by chart path and
// content, so a redeploy that changes nothing stays a no-change), in the
// user's cache rather than a shared temporary directory.
base::expected<std::string> chart_dir() {
  auto cache = base::xdg_home(base::XdgDir::cache);
  if (!cache)
    return base::fail(base::make_error("cannot place the operator's chart", "neither XDG_CACHE_HOME nor HOME is an absolute path",
                                       "set HOME, or XDG_CACHE_HOME"));
  return base::join_path(*cache, "harmony/fleet/operator-chart-" + std::string(harmony::version));
}

}  // namespace

std::vector<settings::Problem> OperatorSettings::check() const {
  std::vector<settings::Problem> problems;
  if (image.empty()) problems.push_back({"image", "must name the operator's image"});
  if (auto source = detail::chart_source_problem(chart, chart_repository)) problems.push_back(*source);
  if (!chart.empty() && !chart.starts_with("/") && !chart.starts_with(".") && chart_version.empty())
    problems.push_back({"chart_version", "a published chart is pinned: set its version"});
  if (!watch_namespace.empty() && watch_namespace != "*" && !contract::valid_device_name(watch_namespace))
    problems.push_back({"watch_namespace", "'" + watch_namespace + "' is not a namespace name"});
  return problems;
}

base::expected<bool> install_fleet_crds(KubernetesCluster& cluster, RunContext& ctx) {
  auto client = cluster.client(ctx);
  if (!client) return base::fail(client.error());
  bool changed = false;
  for (auto crd : fleet_crds()) {
    // What this build's CRD is, so that an unchanged one costs one read.
    const std::string schema = base::fingerprint(crd.to_json());
    crd.set_string("/metadata/annotations/fleet.harmony.dev~1schema", schema);
    auto before = (*client)->find(kube::ObjectRef::of(crd));
    if (!before) return base::fail(before.error());
    if (ctx.dry_run()) {
      if (!*before) ctx.plan->push_back({"create", "CustomResourceDefinition " + crd.name(), {}});
      continue;
    }
    if (*before && (*before)->string_at("/metadata/annotations/fleet.harmony.dev~1schema") == schema) {
      auto c = kube::condition(**before, "Established");
      if (c && c->status == "True") continue;
    }
    kube::ApplyOptions apply;
    apply.field_manager = "harmony";
    // These CRDs are harmony's own: what this build says wins over an older
    // copy that helm (helm 4 applies crds/ server-side) or kubectl installed.
    apply.force_conflicts = true;
    auto applied = (*client)->apply(crd, apply);
    if (!applied) return base::fail(applied.error());
    if (!*before || (*before)->resource_version() != applied->resource_version()) changed = true;
    auto established = checks::wait_until(ctx, "CustomResourceDefinition " + crd.name() + " is Established",
                                          [&]() -> base::expected<void> {
                                            auto live = (*client)->get(kube::ObjectRef::of(crd));
                                            if (!live) return base::fail(live.error());
                                            auto c = kube::condition(*live, "Established");
                                            if (!c || c->status != "True")
                                              return base::fail(base::make_error("not Established yet"));
                                            return {};
                                          });
    if (!established) return base::fail(established.error());
  }
  if (changed) (*client)->invalidate_discovery();
  return changed;
}

Outcome deploy_operator_on_kubernetes(const OperatorSettings& s, const std::optional<ComponentRecord>& nats_record,
                                      KubernetesCluster& cluster, HelmReleaser& helm, RunContext& ctx) {
  auto nats = deployed_nats(nats_record);
  if (!nats) return Outcome::failure(nats.error());
  bool crds_changed = false;
  if (s.install_crds) {
    auto installed = install_fleet_crds(cluster, ctx);
    if (!installed) return Outcome::failure(installed.error());
    crds_changed = *installed;
  }
  // The operator runtime's NATS user is made with NATS's accounts.
  RunContext nats_ctx = for_component(ctx, nats_component);
  auto password = cluster.ensure_secret(nats_ctx, controller_password_file, generate_password);
  if (!password) return Outcome::failure(password.error());
  OperatorChartInputs inputs;
  inputs.nats_urls = {(nats->tls ? "tls://" : "nats://") + std::string("nats.") + cluster.namespace_name() + ".svc:" +
                      std::to_string(nats->client_port.value)};
  inputs.nats_password = *password;
  if (nats->tls) inputs.nats_ca_config_map = "fleet-nats-ca";
  // Two fleets in one cluster must not both act on one FleetDeployment.
  inputs.watch_namespace = s.watch_namespace.empty() ? cluster.namespace_name() : s.watch_namespace == "*" ? "" : s.watch_namespace;

  std::string chart = s.chart;
  if (chart.empty()) {
    auto dir = chart_dir();
    if (!dir) return Outcome::failure(dir.error());
    if (auto written = write_operator_chart(*dir); !written) return Outcome::failure(written.error());
    chart = *dir;
  }
  const HelmRelease release = detail::chart_release(std::string(operator_release), chart, s.chart_repository, s.chart_version,
                                                    operator_chart_values(s, inputs));
  Outcome installed = helm.install_chart(ctx, release);
  if (installed.failed() || ctx.dry_run()) return installed;
  Outcome out = crds_changed && !installed.changed() ? Outcome::success("CRDs updated") : installed;
  out.detail("summary", "fleet-operator in namespace " + cluster.namespace_name() + " (" + std::to_string(s.replicas) +
                            (s.replicas == 1 ? " replica" : " replicas, one leading") + "), NATS at " + inputs.nats_urls.front());
  out.detail("next", "kubectl get fleetdeployments -A");
  out.detail("next", "harmony fleet deployments");
  return out;
}

base::expected<void> check_operator_on_kubernetes(KubernetesCluster& cluster, RunContext& ctx) {
  auto client = cluster.client(ctx);
  if (!client) return base::fail(client.error());
  return checks::wait_until(ctx, "a fleet-operator replica leads (its Lease)", [&]() -> base::expected<void> {
    auto lease = (*client)->find({"coordination.k8s.io/v1", "Lease", cluster.namespace_name(), "fleet-operator"});
    if (!lease) return base::fail(lease.error());
    const std::string holder = *lease ? (*lease)->string_at("/spec/holderIdentity").value_or("") : "";
    if (holder.empty()) return base::fail(base::make_error("no replica holds the Lease fleet-operator yet"));
    auto pod = (*client)->find({"v1", "Pod", cluster.namespace_name(), holder});
    if (!pod) return base::fail(pod.error());
    if (!*pod)
      return base::fail(base::make_error("the Lease fleet-operator is held by " + holder + ", which is not a pod here",
                                         "an old replica's Lease: a new replica takes it over once it expires"));
    return {};
  });
}

}  // namespace harmony::fleet
