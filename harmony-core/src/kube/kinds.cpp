#include <harmony/kube/kinds.hpp>

#include <harmony/base/text.hpp>
#include <harmony/kube/json.hpp>

namespace harmony::kube {
namespace {

using nlohmann::json;

json meta(const ObjectMeta& m) {
  json j = {{"name", m.name}};
  if (!m.namespace_.empty()) j["namespace"] = m.namespace_;
  if (!m.labels.empty()) j["labels"] = m.labels;
  if (!m.annotations.empty()) j["annotations"] = m.annotations;
  return j;
}

json head(const char* api_version, const char* kind, const ObjectMeta& m) {
  return {{"apiVersion", api_version}, {"kind", kind}, {"metadata", meta(m)}};
}

// A port given as text: a number stays a number (the API's IntOrString).
json int_or_string(const std::string& port) {
  if (!port.empty() && port.find_first_not_of("0123456789") == std::string::npos) return std::stoi(port);
  return port;
}

json probe(const Probe& p) {
  json j = {{"periodSeconds", p.period_seconds},
            {"timeoutSeconds", p.timeout_seconds},
            {"failureThreshold", p.failure_threshold}};
  if (p.initial_delay_seconds > 0) j["initialDelaySeconds"] = p.initial_delay_seconds;
  if (!p.http_path.empty()) {
    j["httpGet"] = {{"path", p.http_path}, {"port", int_or_string(p.port)}};
  } else if (p.tcp) {
    j["tcpSocket"] = {{"port", int_or_string(p.port)}};
  } else if (!p.command.empty()) {
    j["exec"] = {{"command", p.command}};
  }
  return j;
}

json container(const Container& c) {
  json j = {{"name", c.name}, {"image", c.image}, {"imagePullPolicy", c.image_pull_policy}};
  if (!c.command.empty()) j["command"] = c.command;
  if (!c.args.empty()) j["args"] = c.args;
  for (const auto& e : c.env) {
    json v = {{"name", e.name}};
    if (!e.secret_name.empty()) {
      v["valueFrom"] = {{"secretKeyRef", {{"name", e.secret_name}, {"key", e.secret_key}}}};
    } else {
      v["value"] = e.value;
    }
    j["env"].push_back(std::move(v));
  }
  for (const auto& p : c.ports) {
    json port = {{"containerPort", p.port}, {"protocol", p.protocol}};
    if (!p.name.empty()) port["name"] = p.name;
    j["ports"].push_back(std::move(port));
  }
  for (const auto& m : c.volume_mounts) {
    json mount = {{"name", m.name}, {"mountPath", m.path}};
    if (m.read_only) mount["readOnly"] = true;
    if (!m.sub_path.empty()) mount["subPath"] = m.sub_path;
    j["volumeMounts"].push_back(std::move(mount));
  }
  if (c.readiness) j["readinessProbe"] = probe(*c.readiness);
  if (c.liveness) j["livenessProbe"] = probe(*c.liveness);
  json requests = json::object(), limits = json::object();
  if (!c.resources.cpu_request.empty()) requests["cpu"] = c.resources.cpu_request;
  if (!c.resources.memory_request.empty()) requests["memory"] = c.resources.memory_request;
  if (!c.resources.cpu_limit.empty()) limits["cpu"] = c.resources.cpu_limit;
  if (!c.resources.memory_limit.empty()) limits["memory"] = c.resources.memory_limit;
  if (!requests.empty()) j["resources"]["requests"] = requests;
  if (!limits.empty()) j["resources"]["limits"] = limits;
  json security = {{"runAsNonRoot", c.run_as_non_root},
                   {"readOnlyRootFilesystem", c.read_only_root_filesystem},
                   {"allowPrivilegeEscalation", c.allow_privilege_escalation},
                   {"seccompProfile", {{"type", "RuntimeDefault"}}}};
  if (c.run_as_user) security["runAsUser"] = *c.run_as_user;
  if (c.drop_all_capabilities) security["capabilities"] = {{"drop", {"ALL"}}};
  j["securityContext"] = std::move(security);
  return j;
}

json volume(const Volume& v) {
  json j = {{"name", v.name}};
  json items = json::array();
  for (const auto& i : v.items) items.push_back({{"key", i.key}, {"path", i.path}});
  switch (v.source) {
    case Volume::Source::empty_dir:
      j["emptyDir"] = json::object();
      if (!v.size_limit.empty()) j["emptyDir"]["sizeLimit"] = v.size_limit;
      break;
    case Volume::Source::secret:
      j["secret"] = {{"secretName", v.reference}};
      if (!items.empty()) j["secret"]["items"] = items;
      if (v.default_mode) j["secret"]["defaultMode"] = *v.default_mode;
      break;
    case Volume::Source::config_map:
      j["configMap"] = {{"name", v.reference}};
      if (!items.empty()) j["configMap"]["items"] = items;
      if (v.default_mode) j["configMap"]["defaultMode"] = *v.default_mode;
      break;
    case Volume::Source::persistent_volume_claim:
      j["persistentVolumeClaim"] = {{"claimName", v.reference}};
      break;
  }
  return j;
}

json pod_template(const PodTemplate& t, const Labels& selector) {
  Labels labels = t.labels;
  labels.insert(selector.begin(), selector.end());
  json m = json::object();
  if (!labels.empty()) m["labels"] = labels;
  if (!t.annotations.empty()) m["annotations"] = t.annotations;
  json spec = {{"automountServiceAccountToken", t.automount_service_account_token}};
  for (const auto& c : t.init_containers) spec["initContainers"].push_back(container(c));
  for (const auto& c : t.containers) spec["containers"].push_back(container(c));
  for (const auto& v : t.volumes) spec["volumes"].push_back(volume(v));
  if (!t.service_account.empty()) spec["serviceAccountName"] = t.service_account;
  json security = json::object();
  if (t.fs_group) security["fsGroup"] = *t.fs_group;
  if (t.run_as_user) security["runAsUser"] = *t.run_as_user;
  if (t.run_as_group) security["runAsGroup"] = *t.run_as_group;
  if (!security.empty()) spec["securityContext"] = security;
  for (const auto& s : t.image_pull_secrets) spec["imagePullSecrets"].push_back({{"name", s}});
  if (!t.node_selector.empty()) spec["nodeSelector"] = t.node_selector;
  for (const auto& toleration : t.tolerations) {
    json j = {{"operator", toleration.operator_}};
    if (!toleration.key.empty()) j["key"] = toleration.key;
    if (!toleration.value.empty()) j["value"] = toleration.value;
    if (!toleration.effect.empty()) j["effect"] = toleration.effect;
    spec["tolerations"].push_back(std::move(j));
  }
  if (t.termination_grace_period_seconds) spec["terminationGracePeriodSeconds"] = *t.termination_grace_period_seconds;
  return {{"metadata", m}, {"spec", spec}};
}

}  // namespace

Object to_object(const Namespace& o) { return object_from(head("v1", "Namespace", o.metadata)); }

Object to_object(const ConfigMap& o) {
  json j = head("v1", "ConfigMap", o.metadata);
  j["data"] = o.data;
  return object_from(std::move(j));
}

Object to_object(const Secret& o) {
  json j = head("v1", "Secret", o.metadata);
  j["type"] = o.type;
  json data = json::object();
  // `data`, base64, rather than `stringData`: the API server merges
  // stringData into data, so an applied stringData never matches what is
  // read back, and every plan would show a change.
  for (const auto& [k, v] : o.data) data[k] = base::base64_encode(v);
  j["data"] = std::move(data);
  return object_from(std::move(j));
}

Object to_object(const ServiceAccount& o) {
  json j = head("v1", "ServiceAccount", o.metadata);
  j["automountServiceAccountToken"] = o.automount_token;
  return object_from(std::move(j));
}

Object to_object(const Role& o) {
  ObjectMeta m = o.metadata;
  if (o.cluster_wide) m.namespace_.clear();
  json j = head("rbac.authorization.k8s.io/v1", o.cluster_wide ? "ClusterRole" : "Role", m);
  j["rules"] = json::array();
  for (const auto& r : o.rules) {
    json rule = {{"apiGroups", r.api_groups}, {"resources", r.resources}, {"verbs", r.verbs}};
    if (!r.resource_names.empty()) rule["resourceNames"] = r.resource_names;
    j["rules"].push_back(std::move(rule));
  }
  return object_from(std::move(j));
}

Object to_object(const RoleBinding& o) {
  ObjectMeta m = o.metadata;
  if (o.cluster_wide) m.namespace_.clear();
  json j = head("rbac.authorization.k8s.io/v1", o.cluster_wide ? "ClusterRoleBinding" : "RoleBinding", m);
  j["roleRef"] = {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", o.role_kind}, {"name", o.role_name}};
  j["subjects"] = json::array();
  for (const auto& s : o.subjects) {
    json subject = {{"kind", s.kind}, {"name", s.name}};
    // A service account without a namespace is the binding's; left out when
    // that is not known yet either (the topology's namespace fills it).
    if (s.kind == "ServiceAccount") {
      const std::string& ns = s.namespace_.empty() ? o.metadata.namespace_ : s.namespace_;
      if (!ns.empty()) subject["namespace"] = ns;
    }
    else subject["apiGroup"] = "rbac.authorization.k8s.io";
    j["subjects"].push_back(std::move(subject));
  }
  return object_from(std::move(j));
}

Object to_object(const Deployment& o) {
  json j = head("apps/v1", "Deployment", o.metadata);
  j["spec"] = {{"replicas", o.replicas},
               {"selector", {{"matchLabels", o.selector}}},
               {"strategy", {{"type", o.strategy}}},
               {"template", pod_template(o.template_, o.selector)}};
  if (o.progress_deadline_seconds) j["spec"]["progressDeadlineSeconds"] = *o.progress_deadline_seconds;
  return object_from(std::move(j));
}

Object to_object(const StatefulSet& o) {
  json j = head("apps/v1", "StatefulSet", o.metadata);
  j["spec"] = {{"replicas", o.replicas},
               {"selector", {{"matchLabels", o.selector}}},
               {"serviceName", o.service_name},
               {"podManagementPolicy", o.pod_management_policy},
               {"template", pod_template(o.template_, o.selector)}};
  for (const auto& c : o.volume_claims) {
    json claim = {{"metadata", {{"name", c.name}}},
                  {"spec", {{"accessModes", c.access_modes}, {"resources", {{"requests", {{"storage", c.size}}}}}}}};
    if (!c.storage_class.empty()) claim["spec"]["storageClassName"] = c.storage_class;
    j["spec"]["volumeClaimTemplates"].push_back(std::move(claim));
  }
  return object_from(std::move(j));
}

Object to_object(const Service& o) {
  json j = head("v1", "Service", o.metadata);
  json spec = {{"type", o.type}, {"selector", o.selector}};
  if (o.headless) spec["clusterIP"] = "None";
  if (o.publish_not_ready_addresses) spec["publishNotReadyAddresses"] = true;
  for (const auto& p : o.ports) {
    json port = {{"name", p.name}, {"port", p.port}, {"protocol", p.protocol},
                 {"targetPort", p.target_port.empty() ? json(p.port) : int_or_string(p.target_port)}};
    if (p.node_port) port["nodePort"] = *p.node_port;
    spec["ports"].push_back(std::move(port));
  }
  j["spec"] = std::move(spec);
  return object_from(std::move(j));
}

}  // namespace harmony::kube
