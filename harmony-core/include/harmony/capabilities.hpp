#pragma once
// Capabilities: what a Topology can do for a Score, as C++20 concepts. A
// Score's create_interpret is constrained on the concepts it needs, so the
// compiler refuses a Score on a Topology that lacks one and names the missing
// concept in its diagnostic.
//
// Each concept has a tag type in `capability::` with its name, for the run
// time: the plugin runner uses the tags a Score lists in
// `using capabilities = needs<...>` to say which capabilities a topology
// lacks and which topologies have them. The runner checks, at compile time,
// that the list and the constraint agree for every topology of the plugin.

#include <algorithm>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <harmony/base/expected.hpp>
#include <harmony/context.hpp>
#include <harmony/outcome.hpp>
#include <harmony/topology.hpp>

namespace harmony {

namespace kube {
class Client;
class Object;
}  // namespace kube

// ---- process supervision ---------------------------------------------------

struct PortBinding {
  std::string name;                  // "client", "monitor"
  std::uint16_t port = 0;
  std::string address = "127.0.0.1";
};

struct ProcessDefinition {
  std::string name;                        // unique within the component: "nats", "agent-2"
  std::vector<std::string> argv;           // argv[0]: an absolute path, or a name found in PATH
  std::map<std::string, std::string> env;  // added to harmony's environment
  std::string cwd;                         // empty: the component's work directory
  std::vector<PortBinding> ports;          // must be free before it starts
  std::vector<std::string> inputs;         // files whose content is part of its configuration
};

// Runs long-lived processes for components and tracks them.
class ProcessSupervisor {
 public:
  virtual ~ProcessSupervisor() = default;
  // Makes the process run with exactly this definition: starts it, restarts
  // it when its definition, its inputs or its program changed, and leaves it
  // alone otherwise (no_change).
  virtual Outcome ensure_process(RunContext& ctx, const ProcessDefinition& definition) = 0;
  // Whether all processes of the component are running (false if none).
  [[nodiscard]] virtual bool processes_running(std::string_view component) const = 0;
  // The last lines of a component's process logs, for diagnostics.
  [[nodiscard]] virtual std::string log_tail(std::string_view component, std::size_t lines) const = 0;
  // Asks a running process of any component to re-read its configuration
  // (SIGHUP), without restarting it: one component may change what another's
  // process reads (the fleet's agents add their NATS users). no_change when
  // it is not running: it reads the configuration when it starts.
  virtual Outcome reload_process(RunContext& ctx, std::string_view component, std::string_view process) = 0;
};

// ---- files -------------------------------------------------------------------

enum class FileKind {
  config,      // rewritten on every deploy, removed by destroy
  credential,  // secret; mode 0600; kept by destroy unless --purge
  published,   // at a documented place in the topology's state, for other
               // programs (a connection file); removed by destroy
};

struct FileDefinition {
  std::string name;  // relative to the component's file directory: "nats.conf"
  std::string content;
  unsigned mode = 0644;
  FileKind kind = FileKind::config;
};

struct FileResult {
  std::string path;
  bool changed = false;
};

// Keeps files for components: configuration, credentials, data directories.
class FileStore {
 public:
  virtual ~FileStore() = default;
  virtual base::expected<FileResult> ensure_file(RunContext& ctx, const FileDefinition& file) = 0;
  // A credential generated on first use and reused after: its content (text;
  // trailing line ends are not part of it). An existing credential that
  // others could read, or that is owned by someone else, is an error, never
  // silently replaced: replacing it would lock out whoever holds it.
  virtual base::expected<std::string> ensure_secret(RunContext& ctx, std::string_view name,
                                                    const std::function<std::string()>& generate) = 0;
  // Where the files of a component are (they may not exist yet).
  [[nodiscard]] virtual std::string file_path(std::string_view component, std::string_view name) const = 0;
  [[nodiscard]] virtual std::string credential_path(std::string_view component, std::string_view name) const = 0;
  [[nodiscard]] virtual std::string work_dir(std::string_view component) const = 0;
  // A directory for a component's data, kept by destroy unless --purge.
  virtual base::expected<std::string> data_dir(RunContext& ctx, std::string_view name) = 0;
};

// ---- endpoints ---------------------------------------------------------------

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
  [[nodiscard]] std::string str() const { return host + ":" + std::to_string(port); }
};

// ---- Kubernetes ----------------------------------------------------------------

// A Helm chart release (HelmReleases).
struct HelmRelease {
  std::string name{};          // the release
  std::string chart{};         // a chart directory or archive, a chart name in `repository`, or oci://...
  std::string repository{};    // a repository URL (helm --repo), or empty
  std::string version{};       // empty: the chart's own (a directory) or the latest
  std::string values{};        // a YAML (or JSON) document; may hold secrets: never printed
  bool plain_http = false;     // an oci:// registry over plain HTTP (a local one, such as k3d's)
};

// A Kubernetes cluster and the namespace a plugin deploys into (the
// `kubeconfig` and `k3d` topologies). Everything a Score applies goes through
// `apply`, so the topology knows what the component owns: status reads it,
// destroy deletes it, a redeploy prunes what is no longer applied, and plan
// dry-runs it. Secrets' values are never printed.
class KubernetesCluster {
 public:
  virtual ~KubernetesCluster() = default;
  // The client, connected as --kubeconfig/--context say (for reads; writes
  // go through apply so that they are tracked and dry-run by plan).
  virtual base::expected<kube::Client*> client(RunContext& ctx) = 0;
  // -n, else the plugin's default, else the context's, else "default".
  [[nodiscard]] virtual std::string namespace_name() const = 0;
  // Server-side applies the objects in order (namespaced ones without a
  // namespace go to namespace_name()), as the component ctx.component, then
  // waits with watches until each is ready (kube/readiness.hpp) or
  // ctx.deadline passes. no_change when the server changed nothing. In a
  // dry run: a server-side dry-run apply, diffed with the live objects into
  // ctx.plan.
  virtual Outcome apply(RunContext& ctx, const std::vector<kube::Object>& objects) = 0;
  // A generated credential kept in the cluster (a Secret of the component,
  // kept by destroy unless --purge): generated once, then read back.
  virtual base::expected<std::string> ensure_secret(RunContext& ctx, std::string_view name,
                                                    const std::function<std::string()>& generate) = 0;
  // Where a node port is reached from where harmony runs: k3d's host
  // mapping on 127.0.0.1, else a Ready node's address.
  virtual base::expected<Endpoint> node_endpoint(RunContext& ctx, std::uint16_t node_port) = 0;
};

// Installs Helm charts with the `helm` binary (3.12+ or 4.x), into the
// cluster and namespace of the topology's KubernetesCluster.
class HelmReleaser {
 public:
  virtual ~HelmReleaser() = default;
  // `helm upgrade --install`, then harmony's readiness waits on the
  // release's objects (tracked like applied ones). In a dry run: the
  // rendered objects diffed with the live ones.
  virtual Outcome install_chart(RunContext& ctx, const HelmRelease& release) = 0;
};

// Puts locally built images into the cluster's nodes (k3d image import).
class ImageImporter {
 public:
  virtual ~ImageImporter() = default;
  virtual Outcome import_images(RunContext& ctx, const std::vector<std::string>& images) = 0;
};

// ---- the concepts ------------------------------------------------------------

template <class T>
concept SupervisesProcesses = Topology<T> && requires(T& t) {
  { t.processes() } -> std::same_as<ProcessSupervisor&>;
};

template <class T>
concept StoresFiles = Topology<T> && requires(T& t) {
  { t.files() } -> std::same_as<FileStore&>;
};

// Can tell how to reach a component's port from where harmony runs.
template <class T>
concept ReachesEndpoints = Topology<T> && requires(const T& t, std::string_view component, std::uint16_t port) {
  { t.endpoint(component, port) } -> std::same_as<Endpoint>;
};

template <class T>
concept ManagesKubernetes = Topology<T> && requires(T& t) {
  { t.kubernetes() } -> std::same_as<KubernetesCluster&>;
};

template <class T>
concept HelmReleases = ManagesKubernetes<T> && requires(T& t) {
  { t.helm() } -> std::same_as<HelmReleaser&>;
};

template <class T>
concept ImportsImages = Topology<T> && requires(T& t) {
  { t.images() } -> std::same_as<ImageImporter&>;
};

// ---- tags for the run time ---------------------------------------------------

namespace capability {

struct ProcessSupervision {
  static constexpr std::string_view name = "SupervisesProcesses";
  template <class T>
  static constexpr bool provided_by = SupervisesProcesses<T>;
};
struct FileStorage {
  static constexpr std::string_view name = "StoresFiles";
  template <class T>
  static constexpr bool provided_by = StoresFiles<T>;
};
struct EndpointReach {
  static constexpr std::string_view name = "ReachesEndpoints";
  template <class T>
  static constexpr bool provided_by = ReachesEndpoints<T>;
};
struct Kubernetes {
  static constexpr std::string_view name = "ManagesKubernetes";
  template <class T>
  static constexpr bool provided_by = ManagesKubernetes<T>;
};
struct Helm {
  static constexpr std::string_view name = "HelmReleases";
  template <class T>
  static constexpr bool provided_by = HelmReleases<T>;
};
struct ImageImport {
  static constexpr std::string_view name = "ImportsImages";
  template <class T>
  static constexpr bool provided_by = ImportsImages<T>;
};

}  // namespace capability

// A Score's list of required capabilities.
template <class... Caps>
struct needs {
  template <class T>
  static constexpr bool satisfied_by = (Caps::template provided_by<T> && ...);

  static std::vector<std::string_view> names() { return {Caps::name...}; }

  template <class T>
  static std::vector<std::string_view> names_in() {
    std::vector<std::string_view> out;
    ((Caps::template provided_by<T> ? out.push_back(Caps::name) : void()), ...);
    return out;
  }

  template <class T>
  static std::vector<std::string_view> missing_in() {
    std::vector<std::string_view> out;
    ((Caps::template provided_by<T> ? void() : out.push_back(Caps::name)), ...);
    return out;
  }

  // The union of two lists, for composites.
  template <class... More>
  using plus = needs<Caps..., More...>;
};

// The compile-time check that a Score's list agrees with its constraint on a
// topology. A disagreement stops the build inside one of these templates,
// whose arguments the compiler prints: the Score, the topology and, where it
// can be known, the capability at fault.
namespace capability_check {

// The list names capability Cap, which topology T lacks, yet the Score's
// create_interpret accepts T: the list claims more than the Score needs.
template <class Score, class T, class Cap, bool agrees>
struct listed_capability_that_create_interpret_does_not_need {
  static_assert(agrees,
                "the Score's `capabilities` list names a capability (Cap, above) that this topology (T) lacks, "
                "but its create_interpret accepts T: remove Cap from the list, or require its concept in the "
                "constraint");
  static constexpr bool value = agrees;
};

// create_interpret refuses topology T, though T has everything the list
// names: the constraint needs a capability the list leaves out.
template <class Score, class T, bool agrees>
struct create_interpret_needs_a_capability_the_list_omits {
  static_assert(agrees,
                "the Score's create_interpret refuses this topology (T, above), which has every capability its "
                "`capabilities` list names: add the missing capability's tag to the list, so the plugin can "
                "say at run time what T lacks (status 7)");
  static constexpr bool value = agrees;
};

template <class Score, class T, bool runs, class List>
struct agrees {
  static constexpr bool value =
      create_interpret_needs_a_capability_the_list_omits<Score, T, runs || !List::template satisfied_by<T>>::value &&
      (runs == List::template satisfied_by<T>);
};
template <class Score, class T, bool runs, class... Caps>
struct agrees<Score, T, runs, needs<Caps...>> {
  static constexpr bool value =
      create_interpret_needs_a_capability_the_list_omits<Score, T, runs || !needs<Caps...>::template satisfied_by<T>>::value &&
      (listed_capability_that_create_interpret_does_not_need<Score, T, Caps,
                                                             !runs || Caps::template provided_by<T>>::value &&
       ...);
};

}  // namespace capability_check

// A Score with a realisation per kind of topology (processes and files, or
// Kubernetes): it runs where any one of the lists is satisfied.
template <class... Lists>
struct any_of {
  template <class T>
  static constexpr bool satisfied_by = (Lists::template satisfied_by<T> || ...);

  static std::vector<std::string_view> names() {
    std::vector<std::string_view> out;
    for (const auto& list : {Lists::names()...})
      for (auto name : list)
        if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
    return out;
  }

  // What the closest list lacks on T.
  template <class T>
  static std::vector<std::string_view> missing_in() {
    std::vector<std::string_view> best;
    bool first = true;
    for (const auto& missing : {Lists::template missing_in<T>()...})
      if (first || missing.size() < best.size()) {
        best = missing;
        first = false;
      }
    return best;
  }
};

template <class A, class B>
struct needs_union;
template <class... As, class... Bs>
struct needs_union<needs<As...>, needs<Bs...>> {
  using type = needs<As..., Bs...>;
};

}  // namespace harmony
