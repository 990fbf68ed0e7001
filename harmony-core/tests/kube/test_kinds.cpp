#include <catch2/catch.hpp>

#include <harmony/kube/kinds.hpp>

using namespace harmony::kube;

TEST_CASE("kinds: a Deployment selects its pods by the selector, and its containers run restricted") {
  Deployment d;
  d.metadata = {.name = "web", .namespace_ = "shop", .labels = {{"app.kubernetes.io/name", "web"}}};
  d.replicas = 2;
  d.selector = {{"app", "web"}};
  Container c;
  c.name = "web";
  c.image = "web:1.0";
  c.ports = {{.name = "http", .port = 8080}};
  c.readiness = Probe{.http_path = "/healthz", .port = "http"};
  c.env = {{.name = "MODE", .value = "fast"}, {.name = "PASSWORD", .secret_name = "web-secret", .secret_key = "password"}};
  d.template_.containers = {c};
  d.template_.labels = {{"tier", "front"}};
  const Object o = to_object(d);
  CHECK(o.api_version() == "apps/v1");
  CHECK(o.kind() == "Deployment");
  CHECK(o.namespace_() == "shop");
  CHECK(o.int_at("/spec/replicas") == 2);
  CHECK(o.string_at("/spec/selector/matchLabels/app") == "web");
  CHECK(o.string_at("/spec/template/metadata/labels/app") == "web");
  CHECK(o.string_at("/spec/template/metadata/labels/tier") == "front");
  CHECK(o.string_at("/spec/template/spec/containers/0/readinessProbe/httpGet/port") == "http");
  CHECK(o.string_at("/spec/template/spec/containers/0/env/1/valueFrom/secretKeyRef/name") == "web-secret");
  CHECK_FALSE(o.has("/spec/template/spec/containers/0/env/1/value"));
  CHECK(o.bool_at("/spec/template/spec/containers/0/securityContext/runAsNonRoot") == true);
  CHECK(o.bool_at("/spec/template/spec/containers/0/securityContext/readOnlyRootFilesystem") == true);
  CHECK(o.string_at("/spec/template/spec/containers/0/securityContext/capabilities/drop/0") == "ALL");
  CHECK(o.bool_at("/spec/template/spec/automountServiceAccountToken") == false);
  // Nothing the Score did not set.
  CHECK_FALSE(o.has("/spec/template/spec/containers/0/command"));
  CHECK_FALSE(o.has("/spec/template/spec/containers/0/resources"));
  CHECK_FALSE(o.has("/spec/template/spec/volumes"));
}

TEST_CASE("kinds: Secrets carry base64 data, never stringData") {
  Secret s;
  s.metadata = {.name = "creds", .namespace_ = "fleet"};
  s.data = {{"password", "s3cret"}};
  const Object o = to_object(s);
  CHECK(o.string_at("/data/password") == "czNjcmV0");
  CHECK_FALSE(o.has("/stringData"));
  CHECK(o.string_at("/type") == "Opaque");
}

TEST_CASE("kinds: Services map named and numbered target ports, NodePorts and headless services") {
  Service s;
  s.metadata = {.name = "nats", .namespace_ = "fleet"};
  s.type = "NodePort";
  s.selector = {{"app", "nats"}};
  s.ports = {{.name = "client", .port = 4222, .target_port = "client", .node_port = 30423},
             {.name = "monitor", .port = 8222},
             {.name = "other", .port = 80, .target_port = "8080"}};
  const Object o = to_object(s);
  CHECK(o.string_at("/spec/ports/0/targetPort") == "client");
  CHECK(o.int_at("/spec/ports/0/nodePort") == 30423);
  CHECK(o.int_at("/spec/ports/1/targetPort") == 8222);
  CHECK_FALSE(o.has("/spec/ports/1/nodePort"));
  CHECK(o.int_at("/spec/ports/2/targetPort") == 8080);
  Service headless;
  headless.metadata = {.name = "nats-headless", .namespace_ = "fleet"};
  headless.headless = true;
  CHECK(to_object(headless).string_at("/spec/clusterIP") == "None");
}

TEST_CASE("kinds: RBAC objects, namespaced or cluster-wide") {
  Role r;
  r.metadata = {.name = "reader", .namespace_ = "fleet"};
  r.rules = {{.api_groups = {""}, .resources = {"configmaps"}, .verbs = {"get", "list"}}};
  const Object role = to_object(r);
  CHECK(role.kind() == "Role");
  CHECK(role.string_at("/rules/0/apiGroups/0") == "");
  r.cluster_wide = true;
  const Object cluster_role = to_object(r);
  CHECK(cluster_role.kind() == "ClusterRole");
  CHECK_FALSE(cluster_role.has("/metadata/namespace"));

  RoleBinding b;
  b.metadata = {.name = "reader", .namespace_ = "fleet"};
  b.role_name = "reader";
  b.subjects = {{.kind = "ServiceAccount", .name = "operator"}};
  const Object binding = to_object(b);
  CHECK(binding.string_at("/subjects/0/namespace") == "fleet");
  CHECK(binding.string_at("/roleRef/kind") == "Role");
}

TEST_CASE("kinds: a StatefulSet with claims and mounted Secrets") {
  StatefulSet s;
  s.metadata = {.name = "nats", .namespace_ = "fleet"};
  s.selector = {{"app", "nats"}};
  s.service_name = "nats-headless";
  Container c;
  c.name = "nats";
  c.image = "nats:2.12";
  c.volume_mounts = {{.name = "config", .path = "/etc/nats", .read_only = true}, {.name = "data", .path = "/data"}};
  s.template_.containers = {c};
  s.template_.fs_group = 1000;
  Volume config;
  config.name = "config";
  config.source = Volume::Source::secret;
  config.reference = "nats-config";
  config.default_mode = 0440;
  s.template_.volumes = {config};
  s.volume_claims = {{.name = "data", .storage_class = "local", .size = "2Gi"}};
  const Object o = to_object(s);
  CHECK(o.string_at("/spec/serviceName") == "nats-headless");
  CHECK(o.int_at("/spec/template/spec/volumes/0/secret/defaultMode") == 0440);
  CHECK(o.int_at("/spec/template/spec/securityContext/fsGroup") == 1000);
  CHECK(o.string_at("/spec/volumeClaimTemplates/0/spec/storageClassName") == "local");
  CHECK(o.string_at("/spec/volumeClaimTemplates/0/spec/resources/requests/storage") == "2Gi");
  CHECK(o.bool_at("/spec/template/spec/containers/0/volumeMounts/0/readOnly") == true);
}
