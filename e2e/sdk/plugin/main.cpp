// harmony-sdktest: the SDK's in-tree test plugin, made of the SDK's core
// Scores exactly as a third party would make one.
//
//   web     sdktest-server behind a config file, a credential, an HTTP
//           readiness check and a real check of its answer
//   worker  a second server (after web), a TCP check and a custom check
//   cloud   a manifest: needs WritesManifests, which only `directory` has
//   chart   a Helm chart (a directory), with values built from settings
//   shop    on Kubernetes (kubeconfig, k3d): a ConfigMap, a Secret with a
//           generated key, a Deployment of busybox httpd serving the
//           greeting, and a Service

#include <nlohmann/json.hpp>

#include <harmony/checks.hpp>
#include <harmony/plugin.hpp>
#include <harmony/scores/config_file.hpp>
#include <harmony/scores/kubernetes.hpp>
#include <harmony/scores/local_process.hpp>
#include <harmony/scores/readiness.hpp>
#include <harmony/topologies/kubernetes.hpp>
#include <harmony/topologies/local.hpp>

#include "directory_topology.hpp"

namespace sdktest {

using namespace harmony;
using namespace std::chrono_literals;

class WebScore {
 public:
  struct Settings {
    Port port{18080};
    std::string greeting = "hello";
    Secret token;
    bool health_fail = false;
    bool exit_at_start = false;
    int delay = 0;
    std::map<std::string, std::string> labels;

    template <class V>
    void describe(V& v) {
      v("port", port, "the HTTP port");
      v("greeting", greeting, "what GET / answers");
      v("token", token, "an API token, kept as a credential");
      v("health_fail", health_fail, "make /health fail (tests a failing smoke test)");
      v("exit_at_start", exit_at_start, "make the server exit at once");
      v("delay", delay, "seconds the server waits before listening", range(0, 3600));
      v("labels", labels, "labels, passed as environment variables");
    }
  };
  using capabilities = needs<capability::ProcessSupervision, capability::FileStorage, capability::EndpointReach>;

  explicit WebScore(Settings settings) : settings_(std::move(settings)) {}
  [[nodiscard]] std::string name() const { return "web server"; }
  [[nodiscard]] const Settings& settings() const { return settings_; }

  template <Topology T>
    requires SupervisesProcesses<T> && StoresFiles<T> && ReachesEndpoints<T>
  std::unique_ptr<Interpret<T>> create_interpret() const {
    return parts<T>().interpret();
  }
  template <Topology T>
    requires SupervisesProcesses<T> && StoresFiles<T> && ReachesEndpoints<T>
  std::unique_ptr<SmokeTest<T>> create_smoke_test() const {
    return parts<T>().smoke_test();
  }

 private:
  template <class T>
  Composition<T> parts() const {
    const Settings& s = settings_;
    Composition<T> c;
    c.add("greeting", scores::ConfigFile({"greeting.txt", s.greeting, 0644, false}));
    std::vector<std::string> after{"greeting"};
    if (!s.token.empty()) {
      c.add("token", scores::ConfigFile({"token", s.token.value, 0600, true}));
      after.emplace_back("token");
    }
    std::vector<std::string> args{"--port", std::to_string(s.port.value), "--greeting-file", "{file:greeting.txt}"};
    if (s.health_fail) args.emplace_back("--health-fail");
    if (s.exit_at_start) args.emplace_back("--exit-at-start");
    if (s.delay > 0) args.insert(args.end(), {"--delay", std::to_string(s.delay)});
    std::map<std::string, std::string> env;
    for (const auto& [k, v] : s.labels) env["LABEL_" + k] = v;
    if (!s.token.empty()) env["TOKEN_FILE"] = "{credential:token}";
    c.add("server",
          scores::LocalProcess({"web", "sdktest-server", args, env, {{"http", std::to_string(s.port.value)}},
                                {"{file:greeting.txt}"}}),
          after);
    c.add("health", scores::HttpReady({s.port, "/health", "ok"}), {"server"});
    c.add("greets", scores::HttpReady({s.port, "/", s.greeting}), {"health"});
    return c;
  }
  Settings settings_;
};

class WorkerScore {
 public:
  struct Settings {
    Port port{18081};
    template <class V>
    void describe(V& v) {
      v("port", port, "the worker's port");
    }
  };
  using capabilities = needs<capability::ProcessSupervision, capability::FileStorage, capability::EndpointReach>;

  explicit WorkerScore(Settings settings) : settings_(settings) {}
  [[nodiscard]] std::string name() const { return "worker"; }
  [[nodiscard]] const Settings& settings() const { return settings_; }

  template <Topology T>
    requires SupervisesProcesses<T> && StoresFiles<T> && ReachesEndpoints<T>
  std::unique_ptr<Interpret<T>> create_interpret() const {
    return parts<T>().interpret();
  }
  template <Topology T>
    requires SupervisesProcesses<T> && StoresFiles<T> && ReachesEndpoints<T>
  std::unique_ptr<SmokeTest<T>> create_smoke_test() const {
    return parts<T>().smoke_test();
  }

 private:
  template <class T>
  Composition<T> parts() const {
    const std::uint16_t port = settings_.port.value;
    Composition<T> c;
    c.add("server", scores::LocalProcess({"worker", "sdktest-server", {"--port", std::to_string(port)}, {},
                                          {{"tcp", std::to_string(port)}}, {}}));
    c.add("tcp", scores::TcpReady({settings_.port}), {"server"});
    c.add("pid", scores::Check("the worker tells its pid", [port](RunContext&) {
            return checks::http_get("http://127.0.0.1:" + std::to_string(port) + "/pid", {}, 2s);
          }),
          {"tcp"});
    return c;
  }
  Settings settings_;
};

class ManifestScore {
 public:
  struct Settings {
    std::string kind = "ConfigMap";
    template <class V>
    void describe(V& v) {
      v("kind", kind, "the manifest's kind");
    }
  };
  using capabilities = needs<ManifestWriting>;

  explicit ManifestScore(Settings settings) : settings_(std::move(settings)) {}
  [[nodiscard]] std::string name() const { return "manifest"; }
  [[nodiscard]] const Settings& settings() const { return settings_; }

  template <Topology T>
    requires WritesManifests<T>
  std::unique_ptr<Interpret<T>> create_interpret() const {
    struct Write final : Interpret<T> {
      explicit Write(std::string k) : kind(std::move(k)) {}
      Outcome execute(T& topology, const Inventory&, RunContext& ctx) override {
        auto changed = topology.manifests().write_manifest(ctx, "kind: " + kind + "\nname: " + ctx.component + "\n");
        if (!changed) return Outcome::failure(changed.error());
        return *changed ? Outcome::success("wrote the manifest") : Outcome::no_change("manifest unchanged");
      }
      std::string kind;
    };
    return std::make_unique<Write>(settings_.kind);
  }

 private:
  Settings settings_;
};

// Puts a locally built image into the cluster (k3d image import).
class ImportImage {
 public:
  struct Settings {
    std::string image;
  };
  using capabilities = needs<capability::ImageImport>;
  explicit ImportImage(Settings settings) : settings_(std::move(settings)) {}
  [[nodiscard]] std::string name() const { return "import " + settings_.image; }
  [[nodiscard]] const Settings& settings() const { return settings_; }
  template <Topology T>
    requires ImportsImages<T>
  std::unique_ptr<Interpret<T>> create_interpret() const {
    struct Import final : Interpret<T> {
      explicit Import(std::string i) : image(std::move(i)) {}
      Outcome execute(T& topology, const Inventory&, RunContext& ctx) override {
        return topology.images().import_images(ctx, {image});
      }
      std::string image;
    };
    return std::make_unique<Import>(settings_.image);
  }

 private:
  Settings settings_;
};

class ShopScore {
 public:
  struct Settings {
    std::string image = "harmony.local/busybox:1";
    std::string pull_policy = "IfNotPresent";
    int replicas = 2;
    std::string greeting = "hello";
    Secret token;
    int node_port = 0;
    bool extra_config = false;
    bool kwok = false;
    bool import_image = false;
    std::map<std::string, std::string> node_selector;
    std::string ready_path = "/";

    template <class V>
    void describe(V& v) {
      v("image", image, "the container image (it must have busybox's httpd)");
      v("ready_path", ready_path, "what the readiness probe GETs (a missing page: running, never ready)");
      v("pull_policy", pull_policy, "the image pull policy: Always, IfNotPresent or Never");
      v("replicas", replicas, "how many pods", range(0, 20));
      v("greeting", greeting, "what GET / answers");
      v("token", token, "an API token, kept in a Secret");
      v("node_port", node_port, "a NodePort for the Service (0: ClusterIP only)", range(0, 32767));
      v("extra_config", extra_config, "also deploy a second ConfigMap (tests pruning)");
      v("kwok", kwok, "run the pods on the test cluster's simulated (kwok) node");
      v("import_image", import_image, "import the image into the cluster first (topologies that can)");
      v("node_selector", node_selector, "labels the pods' node must have (none matching: the pods stay pending)");
    }
  };
  using capabilities = needs<capability::Kubernetes>;

  explicit ShopScore(Settings settings) : settings_(std::move(settings)) {}
  [[nodiscard]] std::string name() const { return "shop"; }
  [[nodiscard]] const Settings& settings() const { return settings_; }
  [[nodiscard]] std::vector<std::uint16_t> node_ports() const {
    if (settings_.node_port == 0) return {};
    return {static_cast<std::uint16_t>(settings_.node_port)};
  }

  template <Topology T>
    requires ManagesKubernetes<T>
  std::unique_ptr<Interpret<T>> create_interpret() const {
    const Settings& s = settings_;
    const kube::Labels app{{"app", "shop"}};
    Composition<T> c;
    c.add("config", scores::KubeConfigMap({.metadata = {.name = "shop"}, .data = {{"index.html", s.greeting + "\n"}}}));
    if (s.extra_config)
      c.add("extra", scores::KubeConfigMap({.metadata = {.name = "shop-extra"}, .data = {{"extra", "yes"}}}));
    c.add("secret", scores::KubeSecret({.secret = {.metadata = {.name = "shop"}, .data = {{"token", s.token.value}}},
                                        .generated = {"api-key"},
                                        .generate = [] { return std::string("generated-") + std::to_string(::getpid()); }}));
    if (s.import_image) {
      if constexpr (ImportsImages<T>) {
        c.add("image", ImportImage({s.image}));
      }
    }
    kube::Container web{.name = "web",
                        .image = s.image,
                        .image_pull_policy = s.pull_policy,
                        .command = {"sh", "-c", "echo shop serving on 8080; exec httpd -f -p 8080 -h /www"},
                        .env = {{.name = "TOKEN", .secret_name = "shop", .secret_key = "token"}},
                        .ports = {{.name = "http", .port = 8080}},
                        .volume_mounts = {{.name = "www", .path = "/www", .read_only = true}},
                        .readiness = kube::Probe{.http_path = s.ready_path, .port = "http", .period_seconds = 1},
                        .run_as_user = 65534};
    c.add("web",
          scores::KubeDeployment({.metadata = {.name = "shop"},
                                  .replicas = s.replicas,
                                  .selector = app,
                                  .template_ = {.containers = {web},
                                                .volumes = {{.name = "www",
                                                             .source = kube::Volume::Source::config_map,
                                                             .reference = "shop"}},
                                                .node_selector = s.kwok ? kube::Labels{{"type", "kwok"}} : kube::Labels(s.node_selector.begin(), s.node_selector.end()),
                                                .tolerations = s.kwok ? std::vector<kube::Toleration>{{.key = "kwok.x-k8s.io/node",
                                                                                                        .value = "fake",
                                                                                                        .effect = "NoSchedule"}}
                                                                      : std::vector<kube::Toleration>{},
                                                .termination_grace_period_seconds = 2},
                                  .progress_deadline_seconds = 120}),
          s.import_image && ImportsImages<T> ? std::vector<std::string>{"config", "secret", "image"}
                                             : std::vector<std::string>{"config", "secret"});
    kube::Service service{.metadata = {.name = "shop"},
                          .selector = app,
                          .ports = {{.name = "http", .port = 80, .target_port = "http"}}};
    if (s.node_port != 0) {
      service.type = "NodePort";
      service.ports.front().node_port = s.node_port;
    }
    c.add("service", scores::KubeService(service), {"web"});
    return c.interpret();
  }

  // With a node port: the greeting, through the port, from where harmony runs.
  template <Topology T>
    requires ManagesKubernetes<T>
  std::unique_ptr<SmokeTest<T>> create_smoke_test() const {
    struct Greets final : SmokeTest<T> {
      explicit Greets(Settings s) : settings(std::move(s)) {}
      base::expected<void> run(T& topology, RunContext& ctx) override {
        if (settings.node_port == 0) return {};
        auto endpoint = topology.kubernetes().node_endpoint(ctx, static_cast<std::uint16_t>(settings.node_port));
        if (!endpoint) return base::fail(endpoint.error());
        const std::string url = "http://" + endpoint->str() + "/";
        return checks::wait_until(ctx, "the shop at " + url, [&] {
          return checks::http_get(url, {.body_contains = settings.greeting}, 2s);
        });
      }
      Settings settings;
    };
    return std::make_unique<Greets>(settings_);
  }

 private:
  Settings settings_;
};

// A custom resource and, unless told not to, its CRD (built from JSON by the
// Score's own code: kinds without a typed struct).
class WidgetScore {
 public:
  struct Settings {
    bool install_crd = true;
    bool one_list = false;
    std::string kind = "Widget";
    std::string size = "small";
    template <class V>
    void describe(V& v) {
      v("install_crd", install_crd, "install the CRD before the custom resource");
      v("one_list", one_list, "apply the CRD and the custom resource as one list of objects");
      v("kind", kind, "the custom resource's kind (a kind no CRD defines tests that error)");
      v("size", size, "the widget's spec.size", choice<std::string>({{"small", "small"}, {"large", "large"}}));
    }
  };
  using capabilities = needs<capability::Kubernetes>;
  explicit WidgetScore(Settings settings) : settings_(std::move(settings)) {}
  [[nodiscard]] std::string name() const { return "widget"; }
  [[nodiscard]] const Settings& settings() const { return settings_; }

  template <Topology T>
    requires ManagesKubernetes<T>
  std::unique_ptr<Interpret<T>> create_interpret() const {
    using nlohmann::json;
    const json schema = {
        {"type", "object"},
        {"properties",
         {{"spec", {{"type", "object"}, {"properties", {{"size", {{"type", "string"}, {"enum", {"small", "large"}}}}}}}}}}};
    const json crd = {
        {"apiVersion", "apiextensions.k8s.io/v1"},
        {"kind", "CustomResourceDefinition"},
        {"metadata", {{"name", "widgets.sdktest.harmony.test"}}},
        {"spec",
         {{"group", "sdktest.harmony.test"},
          {"scope", "Namespaced"},
          {"names", {{"plural", "widgets"}, {"singular", "widget"}, {"kind", "Widget"}, {"listKind", "WidgetList"}}},
          {"versions", {{{"name", "v1"}, {"served", true}, {"storage", true}, {"schema", {{"openAPIV3Schema", schema}}}}}}}}};
    const json widget = {{"apiVersion", "sdktest.harmony.test/v1"},
                         {"kind", settings_.kind},
                         {"metadata", {{"name", "w1"}}},
                         {"spec", {{"size", settings_.size}}}};
    Composition<T> c;
    if (settings_.one_list) {
      c.add("both", scores::KubeObjects({.what = "the CRD and the widget",
                                         .objects = {*kube::Object::parse(crd.dump()), *kube::Object::parse(widget.dump())}}));
      return c.interpret();
    }
    if (settings_.install_crd) c.add("crd", scores::KubeCustomResourceDefinition(*kube::Object::parse(crd.dump())));
    c.add("widget", scores::KubeObjects({.what = "the widget", .objects = {*kube::Object::parse(widget.dump())}}),
          settings_.install_crd ? std::vector<std::string>{"crd"} : std::vector<std::string>{});
    return c.interpret();
  }

 private:
  Settings settings_;
};

// A StatefulSet that runs as its own service account, allowed to read
// ConfigMaps and nothing else, with a password harmony generates once and
// keeps in the cluster (the topology's credentials).
class OpsScore {
 public:
  struct Settings {
    std::string image = "harmony.local/busybox:1";
    template <class V>
    void describe(V& v) {
      v("image", image, "the container image");
    }
  };
  using capabilities = needs<capability::Kubernetes>;
  explicit OpsScore(Settings settings) : settings_(std::move(settings)) {}
  [[nodiscard]] std::string name() const { return "ops"; }
  [[nodiscard]] const Settings& settings() const { return settings_; }

  template <Topology T>
    requires ManagesKubernetes<T>
  std::unique_ptr<Interpret<T>> create_interpret() const {
    struct Apply final : Interpret<T> {
      explicit Apply(Settings s) : settings(std::move(s)) {}
      Outcome execute(T& topology, const Inventory& inventory, RunContext& ctx) override {
        auto password = topology.kubernetes().ensure_secret(ctx, "password", [] {
          return "pw-" + std::to_string(::getpid()) + "-" + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
        });
        if (!password) return Outcome::failure(password.error());
        const kube::Labels app{{"app", "ops"}};
        Composition<T> c;
        c.add("account", scores::KubeServiceAccount({.metadata = {.name = "ops"}}));
        c.add("role", scores::KubeRole({.metadata = {.name = "ops"},
                                        .rules = {{.api_groups = {""}, .resources = {"configmaps"}, .verbs = {"get", "list"}}}}));
        c.add("binding", scores::KubeRoleBinding({.metadata = {.name = "ops"},
                                                  .role_name = "ops",
                                                  .subjects = {{.name = "ops"}}}),
              {"account", "role"});
        c.add("password", scores::KubeSecret({.secret = {.metadata = {.name = "ops-password"}, .data = {{"password", *password}}}}));
        kube::Container main{.name = "main",
                             .image = settings.image,
                             .image_pull_policy = "Never",
                             .command = {"sleep", "3600"},
                             .env = {{.name = "PASSWORD", .secret_name = "ops-password", .secret_key = "password"}},
                             .run_as_user = 65534};
        c.add("set", scores::KubeStatefulSet({.metadata = {.name = "ops"},
                                              .replicas = 1,
                                              .selector = app,
                                              .service_name = "ops",
                                              .template_ = {.containers = {main},
                                                            .service_account = "ops",
                                                            .termination_grace_period_seconds = 1}}),
              {"binding", "password"});
        return c.interpret()->execute(topology, inventory, ctx);
      }
      Settings settings;
    };
    return std::make_unique<Apply>(settings_);
  }

 private:
  Settings settings_;
};

class ChartScore {
 public:
  struct Settings {
    std::string chart;
    std::string image = "harmony.local/busybox:1";
    int replicas = 1;
    Secret password;
    template <class V>
    void describe(V& v) {
      v("chart", chart, "the chart: a directory, an archive, or oci://...");
      v("image", image, "the image the chart runs");
      v("replicas", replicas, "how many pods", range(0, 20));
      v("password", password, "a value the chart gets but nobody sees");
    }
  };
  using capabilities = needs<capability::Helm>;

  explicit ChartScore(Settings settings) : settings_(std::move(settings)) {}
  [[nodiscard]] std::string name() const { return "chart"; }
  [[nodiscard]] const Settings& settings() const { return settings_; }

  template <Topology T>
    requires HelmReleases<T>
  std::unique_ptr<Interpret<T>> create_interpret() const {
    const Settings& s = settings_;
    const auto colon = s.image.rfind(':');
    // Values as JSON (which is YAML), built as data: never a YAML string by hand.
    const nlohmann::json values = {
        {"replicaCount", s.replicas},
        {"image", {{"repository", s.image.substr(0, colon)}, {"tag", s.image.substr(colon + 1)}, {"pullPolicy", "IfNotPresent"}}},
        {"command", {"sleep", "3600"}},
        {"podAnnotations", {{"password-length", std::to_string(s.password.value.size())}}},
        {"livenessProbe", nullptr},
        {"readinessProbe", nullptr}};
    return scores::HelmChart({.name = "web", .chart = s.chart, .values = values.dump()}).create_interpret<T>();
  }

 private:
  Settings settings_;
};

}  // namespace sdktest

int main(int argc, char** argv) {
  harmony::Plugin<harmony::topologies::Local, sdktest::Directory, harmony::topologies::Kubeconfig,
                  harmony::topologies::K3d>
      plugin({"sdktest", "1.2.3", "The SDK's test plugin: a web server, a worker and a manifest", "sdktest"});
  plugin.component<sdktest::WebScore>("web", "sdktest-server with a config file and readiness checks");
  plugin.component<sdktest::WorkerScore>("worker", "a second server, deployed after web", {}, {"web"});
  plugin.component<sdktest::ManifestScore>("cloud", "a manifest (only the directory topology can write it)");
  plugin.component<sdktest::ShopScore>("shop", "a small web shop on Kubernetes");
  plugin.component<sdktest::ChartScore>("chart", "a Helm chart's release");
  plugin.component<sdktest::WidgetScore>("widget", "a custom resource and its CRD");
  plugin.component<sdktest::OpsScore>("ops", "a StatefulSet with its own service account, role and a generated password");
  plugin.group("apps", "the web server and the worker", {"web", "worker"});

  // A command of the plugin's own, through the runner's API.
  std::string who = "world";
  bool shout = false;
  plugin.command("hello", "greet someone (a plugin's own command)")
      .option("--name", who, "whom to greet")
      .flag("--shout", shout, "in capitals")
      .action([&](const harmony::CommandContext& ctx) {
        std::string greeting = "hello, " + who;
        if (shout)
          for (char& c : greeting) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        ctx.print(ctx.json ? "{\"greeting\":\"" + greeting + "\"}\n" : greeting + "\n");
        return who == "nobody" ? 3 : 0;
      });
  return plugin.run(argc, argv);
}
