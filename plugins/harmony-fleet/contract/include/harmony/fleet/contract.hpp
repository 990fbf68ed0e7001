#pragma once
// The fleet's contract between harmony-fleet, the operator and the agents:
// the FleetDeployment and FleetDevice resources, the desired-state and
// device-state KV buckets, and the names they carry (docs/fleet-operator.md).
//
// Each type says once, in `describe`, what its fields are called and what
// values they may hold. Everything else is derived from that: the JSON
// codec (contract_json.hpp) and, on the deploy side only, the CRDs' OpenAPI
// schemas (harmony-fleet's crds.cpp). fleet-agent links this library, so
// nothing here knows about Kubernetes beyond names, and the header needs
// only the base library.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <harmony/base/expected.hpp>

namespace harmony::fleet::contract {

// ---- names ------------------------------------------------------------------

inline constexpr std::string_view group = "fleet.harmony.dev";
inline constexpr std::string_view version = "v1alpha1";
inline constexpr std::string_view api_version = "fleet.harmony.dev/v1alpha1";
inline constexpr std::string_view deployment_kind = "FleetDeployment";
inline constexpr std::string_view deployment_plural = "fleetdeployments";
inline constexpr std::string_view device_kind = "FleetDevice";
inline constexpr std::string_view device_plural = "fleetdevices";
// The operator's finalizer: desired state is removed before a CR goes.
inline constexpr std::string_view finalizer = "fleet.harmony.dev/desired-state";

inline constexpr std::string_view desired_bucket = "desired-state";
inline constexpr std::string_view reported_bucket = "device-state";

// A deployment's name becomes one token of a KV key: an RFC 1123 label's
// characters (no '.', no NATS wildcard, no space), at most 253 bytes as any
// Kubernetes name. Namespaces are RFC 1123 labels already.
inline constexpr std::size_t max_name_length = 253;
inline constexpr std::string_view name_pattern = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
bool valid_deployment_name(std::string_view name);
base::expected<void> validate_deployment_name(std::string_view name);
// Device ids are RFC 1123 labels (at most 63), as the agent protocol says.
bool valid_device_name(std::string_view name);
// Label keys and values as Kubernetes takes them (prefix/name, 63 per part).
bool valid_label_key(std::string_view key);
bool valid_label_value(std::string_view value);

// Keys of both buckets: <device>.<namespace>.<name>.
struct Key {
  std::string device;
  std::string namespace_;
  std::string name;
  friend bool operator==(const Key&, const Key&) = default;
  friend auto operator<=>(const Key&, const Key&) = default;
};
std::string key_string(const Key& key);
std::optional<Key> parse_key(std::string_view key);
// What an agent watches and writes: every key below its id.
std::string device_key_filter(std::string_view device);  // <device>.>
// The NATS subjects of a bucket's keys (JetStream's KV convention).
std::string key_subject(std::string_view bucket, std::string_view key);  // $KV.<bucket>.<key>
std::string bucket_stream(std::string_view bucket);                      // KV_<bucket>

// ---- how a field is described -------------------------------------------------

// What a field may hold. The decoder enforces it; the CRD states it.
struct Rule {
  bool required = false;
  std::string_view pattern{};                      // ECMA regex, for the schema
  bool (*check)(std::string_view) = nullptr;       // the same test, for the decoder
  std::optional<std::int64_t> minimum{};
  std::optional<std::int64_t> maximum{};
  std::optional<std::int64_t> max_length{};        // strings: bytes
  std::optional<std::int64_t> max_items{};         // lists and maps
  std::string_view format{};                       // "date-time"
};

// A struct-level rule in CEL, for the API server; `holds` is the same test
// for the decoder.
template <class T>
struct Invariant {
  std::string_view cel;
  std::string_view message;
  bool (*holds)(const T&);
};

// Enumerations list their spellings: Names<E>::table.
template <class E>
struct Names;

// An integer or a percentage ("25%"), as Kubernetes' maxUnavailable.
struct IntOrPercent {
  std::variant<std::int64_t, std::string> value = std::string("25%");
  // Of `total`, rounded down but at least 1 (0 would never let a rollout move).
  [[nodiscard]] std::int64_t resolve(std::int64_t total) const;
  friend bool operator==(const IntOrPercent&, const IntOrPercent&) = default;
};
bool valid_int_or_percent(const IntOrPercent& value);

using Labels = std::map<std::string, std::string>;

// ---- FleetDeployment ----------------------------------------------------------------

enum class RestartPolicy { always, on_failure, never };
template <>
struct Names<RestartPolicy> {
  static constexpr std::pair<RestartPolicy, std::string_view> table[] = {
      {RestartPolicy::always, "Always"}, {RestartPolicy::on_failure, "OnFailure"}, {RestartPolicy::never, "Never"}};
};

bool absolute_path(std::string_view path);
bool env_name(std::string_view name);
inline constexpr std::string_view env_pattern = "^[A-Za-z_][A-Za-z0-9_]*$";

// A program the agent starts and supervises.
struct ProcessSpec {
  std::string command;
  std::vector<std::string> args;
  Labels env;

  template <class V>
  void describe(V& v) {
    v("command", command, "the program to run: an absolute path (no PATH lookup, no shell)",
      Rule{.required = true, .pattern = "^/", .check = &absolute_path, .max_length = 4096});
    v("args", args, "its arguments", Rule{.max_items = 256});
    v("env", env, "variables it gets beyond PATH and LANG (never the agent's own)",
      Rule{.pattern = env_pattern, .check = &env_name, .max_items = 128});
  }
  friend bool operator==(const ProcessSpec&, const ProcessSpec&) = default;
};

// A container the agent runs with podman, where podman is installed.
struct ContainerSpec {
  std::string image;
  std::vector<std::string> command;
  std::vector<std::string> args;
  Labels env;

  template <class V>
  void describe(V& v) {
    v("image", image, "the image, as podman names it (registry/name:tag or @digest)",
      Rule{.required = true, .max_length = 1024});
    v("command", command, "replaces the image's entrypoint", Rule{.max_items = 64});
    v("args", args, "replaces the image's command", Rule{.max_items = 256});
    v("env", env, "environment variables of the container",
      Rule{.pattern = env_pattern, .check = &env_name, .max_items = 128});
  }
  friend bool operator==(const ContainerSpec&, const ContainerSpec&) = default;
};

struct Workload;
bool one_kind_of_workload(const Workload& workload);

struct Workload {
  std::optional<ProcessSpec> process;
  std::optional<ContainerSpec> container;
  RestartPolicy restart_policy = RestartPolicy::always;

  template <class V>
  void describe(V& v) {
    v("process", process, "a program the agent supervises");
    v("container", container, "a container the agent runs with podman");
    v("restartPolicy", restart_policy, "when the agent starts the workload again after it exits");
    v.invariant(Invariant<Workload>{"has(self.process) != has(self.container)",
                                    "a workload is exactly one of process and container", &one_kind_of_workload});
  }
  friend bool operator==(const Workload&, const Workload&) = default;
};

struct LabelSelector {
  Labels match_labels;

  template <class V>
  void describe(V& v) {
    v("matchLabels", match_labels, "devices whose labels include all of these (empty: every device)",
      Rule{.max_items = 64});
  }
  friend bool operator==(const LabelSelector&, const LabelSelector&) = default;
  [[nodiscard]] bool matches(const Labels& labels) const;
};

struct RolloutStrategy {
  IntOrPercent max_unavailable;
  std::int64_t min_ready_seconds = 2;

  template <class V>
  void describe(V& v) {
    v("maxUnavailable", max_unavailable,
      "how many devices (or what percentage of the targeted ones, rounded down, at least 1) may be updating a "
      "workload they already ran at once; devices that never ran it start at once");
    v("minReadySeconds", min_ready_seconds,
      "how long a started workload must keep running before its device counts as succeeded, so that a program that "
      "fails at once stops a rollout (default 2)",
      Rule{.minimum = 0, .maximum = 3600});
  }
  friend bool operator==(const RolloutStrategy&, const RolloutStrategy&) = default;
};

struct FleetDeploymentSpec {
  LabelSelector target_selector;
  Workload workload;
  RolloutStrategy rollout;

  template <class V>
  void describe(V& v) {
    v("targetSelector", target_selector, "which devices run the workload, by their labels",
      Rule{.required = true});
    v("workload", workload, "what each targeted device runs", Rule{.required = true});
    v("rollout", rollout, "how a changed workload reaches the devices");
  }
  friend bool operator==(const FleetDeploymentSpec&, const FleetDeploymentSpec&) = default;
};

struct Condition {
  std::string type;
  std::string status;  // True, False, Unknown
  std::string reason;
  std::string message;
  std::string last_transition_time;
  std::int64_t observed_generation = 0;

  template <class V>
  void describe(V& v) {
    v("type", type, "Available, Progressing or Degraded", Rule{.required = true, .max_length = 316});
    v("status", status, "True, False or Unknown", Rule{.required = true, .max_length = 16});
    v("reason", reason, "why, in CamelCase", Rule{.max_length = 1024});
    v("message", message, "why, for people", Rule{.max_length = 32768});
    v("lastTransitionTime", last_transition_time, "when status last changed", Rule{.format = "date-time"});
    v("observedGeneration", observed_generation, "the generation this condition is about", Rule{.minimum = 0});
  }
  friend bool operator==(const Condition&, const Condition&) = default;
};

struct FleetDeploymentStatus {
  std::int64_t observed_generation = 0;
  std::string revision;  // the workload's revision (revision_of)
  std::int64_t targeted = 0;
  std::int64_t succeeded = 0;
  std::int64_t failed = 0;
  std::int64_t pending = 0;
  std::string last_error;
  std::vector<Condition> conditions;

  template <class V>
  void describe(V& v) {
    v("observedGeneration", observed_generation, "the spec generation these counts are about", Rule{.minimum = 0});
    v("revision", revision, "the workload's revision the devices are asked to run");
    v("targeted", targeted, "devices the selector matches", Rule{.minimum = 0});
    v("succeeded", succeeded, "targeted devices that run this revision (or ran it to completion)", Rule{.minimum = 0});
    v("failed", failed, "targeted devices where this revision failed", Rule{.minimum = 0});
    v("pending", pending, "targeted devices not there yet: waiting, starting, offline", Rule{.minimum = 0});
    v("lastError", last_error, "the latest failure a device reported, with its name");
    v("conditions", conditions, "Available, Progressing, Degraded", Rule{.max_items = 8});
  }
  friend bool operator==(const FleetDeploymentStatus&, const FleetDeploymentStatus&) = default;
};

// ---- FleetDevice ------------------------------------------------------------------------

enum class WorkloadPhase { pending, running, completed, failed };
template <>
struct Names<WorkloadPhase> {
  static constexpr std::pair<WorkloadPhase, std::string_view> table[] = {{WorkloadPhase::pending, "Pending"},
                                                                         {WorkloadPhase::running, "Running"},
                                                                         {WorkloadPhase::completed, "Completed"},
                                                                         {WorkloadPhase::failed, "Failed"}};
};

enum class Connectivity { online, offline };
template <>
struct Names<Connectivity> {
  static constexpr std::pair<Connectivity, std::string_view> table[] = {{Connectivity::online, "Online"},
                                                                        {Connectivity::offline, "Offline"}};
};

struct DeviceDeployment {
  std::string namespace_;
  std::string name;
  std::string revision;
  WorkloadPhase phase = WorkloadPhase::pending;
  std::string message;
  std::int64_t restarts = 0;

  template <class V>
  void describe(V& v) {
    v("namespace", namespace_, "the FleetDeployment's namespace", Rule{.required = true});
    v("name", name, "the FleetDeployment's name", Rule{.required = true});
    v("revision", revision, "the revision the device runs");
    v("phase", phase, "Pending, Running, Completed or Failed");
    v("message", message, "what the agent said last");
    v("restarts", restarts, "how often the agent restarted the workload", Rule{.minimum = 0});
  }
  friend bool operator==(const DeviceDeployment&, const DeviceDeployment&) = default;
};

struct FleetDeviceStatus {
  Labels labels;
  std::string version;
  std::string last_seen;
  Connectivity connectivity = Connectivity::online;
  std::vector<DeviceDeployment> deployments;

  template <class V>
  void describe(V& v) {
    v("labels", labels, "the labels of the agent's configuration, from its heartbeats");
    v("version", version, "the agent's version");
    v("lastSeen", last_seen,
      "the heartbeat that last changed this status (not every heartbeat: see connectivity)", Rule{.format = "date-time"});
    v("connectivity", connectivity, "Online while heartbeats arrive, Offline after three intervals without one");
    v("deployments", deployments, "what the device reports for each deployment", Rule{.max_items = 1024});
  }
  friend bool operator==(const FleetDeviceStatus&, const FleetDeviceStatus&) = default;
};

// ---- the KV values ----------------------------------------------------------------------

// desired-state, key <device>.<namespace>.<name>: what the device should run.
struct DesiredState {
  std::string namespace_;
  std::string name;
  std::int64_t generation = 0;
  std::string revision;
  Workload workload;
  std::int64_t min_ready_seconds = 2;

  template <class V>
  void describe(V& v) {
    v("namespace", namespace_, "the FleetDeployment's namespace", Rule{.required = true});
    v("name", name, "the FleetDeployment's name", Rule{.required = true});
    v("generation", generation, "its metadata.generation", Rule{.minimum = 0});
    v("revision", revision, "revision_of(workload)", Rule{.required = true});
    v("workload", workload, "what to run", Rule{.required = true});
    v("min_ready_seconds", min_ready_seconds, "Pending until it has run this long (the rollout's minReadySeconds)",
      Rule{.minimum = 0, .maximum = 3600});
  }
  friend bool operator==(const DesiredState&, const DesiredState&) = default;
};

// device-state, the same key: what the device runs.
struct ReportedState {
  std::string device;
  std::string namespace_;
  std::string name;
  std::string revision;
  WorkloadPhase phase = WorkloadPhase::pending;
  std::string message;
  std::int64_t restarts = 0;
  std::string time;

  template <class V>
  void describe(V& v) {
    v("device", device, "the device id", Rule{.required = true, .check = &valid_device_name});
    v("namespace", namespace_, "the FleetDeployment's namespace", Rule{.required = true});
    v("name", name, "the FleetDeployment's name", Rule{.required = true});
    v("revision", revision, "the revision this state is about", Rule{.required = true});
    v("phase", phase, "Pending, Running, Completed or Failed", Rule{.required = true});
    v("message", message, "why, for people (a failure's reason)");
    v("restarts", restarts, "how often the agent restarted it", Rule{.minimum = 0});
    v("time", time, "when the agent wrote this", Rule{.format = "date-time"});
  }
  friend bool operator==(const ReportedState&, const ReportedState&) = default;
};

// The revision of a workload: 16 hex digits that change when any of its
// fields does (the same workload always gives the same revision).
std::string revision_of(const Workload& workload);

// ---- the codec (JSON text) -------------------------------------------------------------

// Decoders check every Rule and Invariant, and name the field at fault
// ("workload.process.command: ..."); unknown fields are ignored.
std::string encode(const DesiredState& state);
std::string encode(const ReportedState& state);
base::expected<DesiredState> decode_desired_state(std::string_view text);
base::expected<ReportedState> decode_reported_state(std::string_view text);

}  // namespace harmony::fleet::contract
