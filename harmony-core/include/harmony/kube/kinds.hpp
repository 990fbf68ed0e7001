#pragma once
// Typed Kubernetes objects for Scores to build manifests with (ADR 0024):
// plain structs with the fields harmony sets, turned into kube::Object by
// `to_object`. A typo in a field name is a compile error, not an object the
// server silently prunes; a value the API refuses is still the server's to
// refuse (with each field named, errors.hpp).
//
// Only what a field's absence would change is written: empty strings, empty
// lists and unset optionals are left out, so server-side apply does not claim
// fields a Score never meant to own.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <harmony/kube/object.hpp>

namespace harmony::kube {

using Labels = std::map<std::string, std::string>;

struct ObjectMeta {
  std::string name{};
  std::string namespace_{};  // empty: cluster-scoped, or the client's namespace
  Labels labels{};
  Labels annotations{};
};

// ---- the pod template ------------------------------------------------------

struct EnvVar {
  std::string name{};
  std::string value{};
  // Or from a Secret's key (value is then ignored).
  std::string secret_name{};
  std::string secret_key{};
};

struct ContainerPort {
  std::string name{};
  std::int32_t port = 0;
  std::string protocol = "TCP";
};

struct VolumeMount {
  std::string name{};
  std::string path{};
  bool read_only = false;
  std::string sub_path{};
};

struct Probe {
  // One of: an HTTP GET, a TCP connect, or a command.
  std::string http_path{};
  std::string port{};  // a number or a named port
  bool tcp = false;
  std::vector<std::string> command{};
  std::int32_t initial_delay_seconds = 0;
  std::int32_t period_seconds = 5;
  std::int32_t timeout_seconds = 2;
  std::int32_t failure_threshold = 3;
};

struct Resources {
  std::string cpu_request{};
  std::string memory_request{};
  std::string cpu_limit{};
  std::string memory_limit{};
};

struct Container {
  std::string name{};
  std::string image{};
  std::string image_pull_policy = "IfNotPresent";
  std::vector<std::string> command{};
  std::vector<std::string> args{};
  std::vector<EnvVar> env{};
  std::vector<ContainerPort> ports{};
  std::vector<VolumeMount> volume_mounts{};
  std::optional<Probe> readiness{};
  std::optional<Probe> liveness{};
  Resources resources{};
  // The container's security context: harmony's defaults are the restricted
  // Pod Security profile's.
  std::optional<std::int64_t> run_as_user{};
  bool run_as_non_root = true;
  bool read_only_root_filesystem = true;
  bool allow_privilege_escalation = false;
  bool drop_all_capabilities = true;
};

struct KeyToPath {
  std::string key{};
  std::string path{};
};

struct Volume {
  enum class Source { empty_dir, secret, config_map, persistent_volume_claim };
  std::string name{};
  Source source = Source::empty_dir;
  std::string reference{};             // the Secret's, ConfigMap's or claim's name
  std::vector<KeyToPath> items{};      // empty: every key
  std::optional<std::int32_t> default_mode{};  // octal, e.g. 0440
  std::string size_limit{};            // emptyDir
};

struct Toleration {
  std::string key{};
  std::string operator_ = "Equal";  // or Exists
  std::string value{};
  std::string effect{};             // NoSchedule, PreferNoSchedule, NoExecute; empty: all
};

struct PodTemplate {
  Labels labels{};
  Labels annotations{};
  std::vector<Container> init_containers{};
  std::vector<Container> containers{};
  std::vector<Volume> volumes{};
  std::string service_account{};
  bool automount_service_account_token = false;
  std::optional<std::int64_t> fs_group{};
  std::optional<std::int64_t> run_as_user{};
  std::optional<std::int64_t> run_as_group{};
  std::vector<std::string> image_pull_secrets{};
  Labels node_selector{};
  std::vector<Toleration> tolerations{};
  std::optional<std::int64_t> termination_grace_period_seconds{};
};

// ---- kinds -----------------------------------------------------------------

struct Namespace {
  ObjectMeta metadata{};
};

struct ConfigMap {
  ObjectMeta metadata{};
  std::map<std::string, std::string> data{};
};

struct Secret {
  ObjectMeta metadata{};
  std::string type = "Opaque";
  std::map<std::string, std::string> data{};  // plain values; base64-encoded into `data`
};

struct ServiceAccount {
  ObjectMeta metadata{};
  bool automount_token = false;
};

struct PolicyRule {
  std::vector<std::string> api_groups{};
  std::vector<std::string> resources{};
  std::vector<std::string> resource_names{};
  std::vector<std::string> verbs{};
};

// A Role, or a ClusterRole when `cluster_wide`.
struct Role {
  ObjectMeta metadata{};
  bool cluster_wide = false;
  std::vector<PolicyRule> rules{};
};

struct Subject {
  std::string kind = "ServiceAccount";
  std::string name{};
  std::string namespace_{};
};

// A RoleBinding, or a ClusterRoleBinding when `cluster_wide`.
struct RoleBinding {
  ObjectMeta metadata{};
  bool cluster_wide = false;
  std::string role_kind = "Role";  // or ClusterRole
  std::string role_name{};
  std::vector<Subject> subjects{};
};

struct Deployment {
  ObjectMeta metadata{};
  std::int32_t replicas = 1;
  Labels selector{};                  // also added to the template's labels
  PodTemplate template_{};
  std::string strategy = "RollingUpdate";  // or Recreate
  std::optional<std::int32_t> progress_deadline_seconds{};
};

struct PersistentVolumeClaimSpec {
  std::string name{};
  std::string storage_class{};        // empty: the cluster's default
  std::string size = "1Gi";
  std::vector<std::string> access_modes{"ReadWriteOnce"};
};

struct StatefulSet {
  ObjectMeta metadata{};
  std::int32_t replicas = 1;
  Labels selector{};
  std::string service_name{};         // the headless Service
  PodTemplate template_{};
  std::vector<PersistentVolumeClaimSpec> volume_claims{};
  std::string pod_management_policy = "OrderedReady";
};

struct ServicePort {
  std::string name{};
  std::int32_t port = 0;
  std::string target_port{};          // a number or a named port; empty: `port`
  std::optional<std::int32_t> node_port{};  // NodePort services; unset: the cluster picks
  std::string protocol = "TCP";
};

struct Service {
  ObjectMeta metadata{};
  std::string type = "ClusterIP";   // ClusterIP, NodePort, LoadBalancer
  bool headless = false;            // clusterIP: None
  Labels selector{};
  std::vector<ServicePort> ports{};
  bool publish_not_ready_addresses = false;
};

Object to_object(const Namespace& o);
Object to_object(const ConfigMap& o);
Object to_object(const Secret& o);
Object to_object(const ServiceAccount& o);
Object to_object(const Role& o);
Object to_object(const RoleBinding& o);
Object to_object(const Deployment& o);
Object to_object(const StatefulSet& o);
Object to_object(const Service& o);

}  // namespace harmony::kube
