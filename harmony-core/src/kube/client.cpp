#include <harmony/kube/client.hpp>

#include <algorithm>
#include <mutex>
#include <sys/stat.h>

#include <harmony/base/exit_status.hpp>
#include <harmony/base/files.hpp>
#include <harmony/base/paths.hpp>
#include <harmony/base/text.hpp>
#include <harmony/base/time.hpp>
#include <harmony/kube/errors.hpp>
#include <harmony/kube/json.hpp>

namespace harmony::kube {
namespace {

using base::expected;
using base::fail;
using nlohmann::json;

constexpr const char* aggregated_accept =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,"
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

std::string with_query(std::string path, const std::vector<std::pair<std::string, std::string>>& query) {
  char sep = path.find('?') == std::string::npos ? '?' : '&';
  for (const auto& [k, v] : query) {
    if (v.empty()) continue;
    path += sep;
    path += k + "=" + base::percent_encode(v);
    sep = '&';
  }
  return path;
}

std::vector<std::string> strings_of(const json& doc, const char* key) {
  std::vector<std::string> out;
  if (doc.contains(key) && doc[key].is_array()) {
    for (const auto& v : doc[key]) {
      if (v.is_string()) out.push_back(v.get<std::string>());
    }
  }
  return out;
}

json to_json(const ResourceType& t) {
  return json{{"group", t.group},   {"version", t.version},         {"kind", t.kind},  {"resource", t.resource},
              {"namespaced", t.namespaced}, {"shortNames", t.short_names}, {"verbs", t.verbs}};
}

ResourceType from_json(const json& j) {
  ResourceType t;
  t.group = j.value("group", "");
  t.version = j.value("version", "");
  t.kind = j.value("kind", "");
  t.resource = j.value("resource", "");
  t.namespaced = j.value("namespaced", true);
  t.short_names = strings_of(j, "shortNames");
  t.verbs = strings_of(j, "verbs");
  return t;
}

// apidiscovery.k8s.io/v2 APIGroupDiscoveryList -> resource types, the
// preferred version of each group first.
void read_aggregated(const json& doc, std::vector<ResourceType>& out) {
  if (!doc.contains("items") || !doc["items"].is_array()) return;
  for (const auto& group : doc["items"]) {
    const std::string name = group.contains("metadata") ? group["metadata"].value("name", "") : "";
    if (!group.contains("versions") || !group["versions"].is_array()) continue;
    for (const auto& version : group["versions"]) {
      const std::string v = version.value("version", "");
      if (!version.contains("resources") || !version["resources"].is_array()) continue;
      for (const auto& r : version["resources"]) {
        ResourceType t;
        t.group = name;
        t.version = v;
        t.resource = r.value("resource", "");
        t.kind = r.contains("responseKind") && r["responseKind"].is_object() ? r["responseKind"].value("kind", "") : "";
        t.namespaced = r.value("scope", "Namespaced") == "Namespaced";
        t.short_names = strings_of(r, "shortNames");
        t.verbs = strings_of(r, "verbs");
        if (!t.resource.empty() && !t.kind.empty()) out.push_back(std::move(t));
      }
    }
  }
}

// One APIResourceList (the older per-group-version discovery document).
void read_resource_list(const json& doc, std::vector<ResourceType>& out) {
  const std::string gv = doc.value("groupVersion", "");
  const auto slash = gv.find('/');
  const std::string group = slash == std::string::npos ? "" : gv.substr(0, slash);
  const std::string version = slash == std::string::npos ? gv : gv.substr(slash + 1);
  if (!doc.contains("resources") || !doc["resources"].is_array()) return;
  for (const auto& r : doc["resources"]) {
    const std::string name = r.value("name", "");
    if (name.empty() || name.find('/') != std::string::npos) continue;  // subresources
    ResourceType t;
    t.group = group;
    t.version = version;
    t.resource = name;
    t.kind = r.value("kind", "");
    t.namespaced = r.value("namespaced", true);
    t.short_names = strings_of(r, "shortNames");
    t.verbs = strings_of(r, "verbs");
    out.push_back(std::move(t));
  }
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string cache_key(const std::string& server) {
  std::string key;
  for (const char c : server.substr(server.find("://") == std::string::npos ? 0 : server.find("://") + 3)) {
    key += (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-') ? c : '_';
  }
  return key;
}

}  // namespace

std::string ResourceType::path(std::string_view namespace_, std::string_view name) const {
  std::string p = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  if (namespaced && !namespace_.empty()) p += "/namespaces/" + std::string(namespace_);
  p += "/" + resource;
  if (!name.empty()) p += "/" + std::string(name);
  return p;
}

ObjectRef ObjectRef::of(const Object& object) {
  return {object.api_version(), object.kind(), object.namespace_(), object.name()};
}

std::string ObjectRef::describe() const {
  return kind + " " + (namespace_.empty() ? name : namespace_ + "/" + name);
}

struct Client::State {
  ClientConfig config;
  ClientOptions options;
  Transport transport;
  std::mutex discovery_mutex;
  std::vector<ResourceType> resources;
  bool resources_fresh = false;  // fetched from the server in this process
  std::atomic<int> fetches{0};

  State(ClientConfig c, ClientOptions o) : config(c), options(std::move(o)), transport(std::move(c), options.transport) {}

  [[nodiscard]] std::string cache_file() const {
    std::string dir = options.cache_dir;
    if (dir.empty()) {
      auto cache = base::xdg_home(base::XdgDir::cache);
      if (!cache) return {};
      dir = base::join_path(*cache, "harmony/discovery");
    }
    return base::join_path(base::join_path(dir, cache_key(config.cluster.server)), "resources.json");
  }

  RequestInfo info(std::string verb, std::string resource, std::string ns, std::string name) const {
    return {std::move(verb), std::move(resource), std::move(ns), std::move(name),
            config.in_cluster ? "the pod's service account"
                              : "user '" + config.user_name + "' (context '" + config.context + "')"};
  }

  expected<Response> call(Request request, const RequestInfo& info) {
    if (request.timeout == Request{}.timeout) request.timeout = options.request_timeout;
    auto r = transport.send(request);
    if (!r) return r;
    if (r->status >= 400) return fail(to_error(parse_failure(r->status, r->body, r->retry_after), info));
    return r;
  }

  expected<json> get_json(const std::string& path, const std::string& accept) {
    Request request;
    request.path = path;
    request.accept = accept;
    auto r = call(request, info("get", path, "", ""));
    if (!r) return fail(r.error());
    ++fetches;
    json doc = json::parse(r->body, nullptr, false);
    if (doc.is_discarded() || !doc.is_object()) {
      return fail(base::make_error("the API server's discovery document at " + path + " is not JSON"));
    }
    return doc;
  }

  expected<void> fetch_resources() {
    std::vector<ResourceType> found;
    for (const char* root : {"/api", "/apis"}) {
      auto doc = get_json(root, aggregated_accept);
      if (!doc) return fail(doc.error());
      if (doc->value("kind", "") == "APIGroupDiscoveryList") {
        read_aggregated(*doc, found);
        continue;
      }
      // A server without aggregated discovery: one document per group version.
      std::vector<std::string> group_versions;
      if (doc->value("kind", "") == "APIVersions") {
        for (const auto& v : strings_of(*doc, "versions")) group_versions.push_back("/api/" + v);
      } else if (doc->contains("groups") && (*doc)["groups"].is_array()) {
        for (const auto& g : (*doc)["groups"]) {
          const std::string preferred = g.contains("preferredVersion") ? g["preferredVersion"].value("groupVersion", "") : "";
          if (!preferred.empty()) group_versions.push_back("/apis/" + preferred);
          if (!g.contains("versions") || !g["versions"].is_array()) continue;
          for (const auto& v : g["versions"]) {
            const std::string gv = v.value("groupVersion", "");
            if (!gv.empty() && gv != preferred) group_versions.push_back("/apis/" + gv);
          }
        }
      }
      for (const auto& path : group_versions) {
        auto list = get_json(path, "application/json");
        if (!list) {
          // An aggregated API server that is down must not hide the others,
          // as in kubectl.
          if (list.error().status == base::exit_status::object_not_found ||
              list.error().status == base::exit_status::unreachable ||
              list.error().status == base::exit_status::remote_error) {
            continue;
          }
          return fail(list.error());
        }
        read_resource_list(*list, found);
      }
    }
    resources = std::move(found);
    resources_fresh = true;
    if (const std::string file = cache_file(); !file.empty()) {
      json cache = json::array();
      for (const auto& t : resources) cache.push_back(to_json(t));
      // A cache that cannot be written is only slower next time.
      if (base::make_directories(base::parent_dir(file), 0700)) {
        (void)base::write_file_atomically(file, cache.dump(), 0600);
      }
    }
    return {};
  }

  void load_cache() {
    const std::string file = cache_file();
    if (file.empty()) return;
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) return;
    const auto age = std::chrono::system_clock::now() - std::chrono::system_clock::from_time_t(st.st_mtime);
    if (age > options.discovery_ttl) return;
    auto text = base::read_file(file);
    if (!text) return;
    json cache = json::parse(*text, nullptr, false);
    if (!cache.is_array()) return;
    for (const auto& j : cache) resources.push_back(from_json(j));
  }

  // Finds a type with `match`, from the cache, then (on a miss) the server.
  expected<ResourceType> lookup(const std::function<bool(const ResourceType&)>& match, const std::string& what) {
    std::lock_guard lock(discovery_mutex);
    if (resources.empty() && !resources_fresh) load_cache();
    for (const auto& t : resources) {
      if (match(t)) return t;
    }
    if (!resources_fresh) {
      if (auto r = fetch_resources(); !r) return fail(r.error());
      for (const auto& t : resources) {
        if (match(t)) return t;
      }
    }
    std::vector<std::string> kinds;
    for (const auto& t : resources) kinds.push_back(t.kind);
    base::Error e = base::make_error("the cluster does not serve " + what,
                                     "the API server at " + config.cluster.server + " has no such resource type");
    e.status = base::exit_status::object_not_found;
    e.hint = "is the CustomResourceDefinition installed, and the apiVersion right?";
    return fail(std::move(e));
  }
};

Client::Client(ClientConfig config, ClientOptions options)
    : state_(std::make_unique<State>(std::move(config), std::move(options))) {}
Client::~Client() = default;

expected<std::unique_ptr<Client>> Client::connect(const LoadOptions& load, ClientOptions options) {
  auto config = load_client_config(load);
  if (!config) return fail(config.error());
  return std::make_unique<Client>(std::move(*config), std::move(options));
}

const ClientConfig& Client::config() const { return state_->config; }
Transport& Client::transport() { return state_->transport; }
std::string Client::identity() const { return state_->info("", "", "", "").identity; }
int Client::discovery_fetches() const { return state_->fetches; }

void Client::invalidate_discovery() {
  std::lock_guard lock(state_->discovery_mutex);
  state_->resources.clear();
  state_->resources_fresh = false;
  // The cache on disk is stale too: a miss must not be answered from it.
  if (const std::string file = state_->cache_file(); !file.empty()) ::unlink(file.c_str());
}

expected<std::string> Client::server_version() {
  Request request;
  request.path = "/version";
  auto r = state_->call(request, state_->info("get", "version", "", ""));
  if (!r) return fail(r.error());
  json doc = json::parse(r->body, nullptr, false);
  if (!doc.is_object()) return fail(base::make_error("the API server's /version is not JSON"));
  return doc.value("gitVersion", "");
}

expected<ResourceType> Client::resource_for(std::string_view api_version, std::string_view kind) {
  const std::string av(api_version), k(kind);
  return state_->lookup([&](const ResourceType& t) { return t.api_version() == av && t.kind == k; },
                        k + " (" + av + ")");
}

expected<ResourceType> Client::resource_named(std::string_view name) {
  const std::string wanted = lower(name);
  const auto dot = wanted.find('.');
  const std::string base_name = wanted.substr(0, dot);
  const std::string group = dot == std::string::npos ? "" : wanted.substr(dot + 1);
  return state_->lookup(
      [&](const ResourceType& t) {
        if (dot != std::string::npos && t.group != group) return false;
        if (t.resource == base_name || lower(t.kind) == base_name) return true;
        return std::find(t.short_names.begin(), t.short_names.end(), base_name) != t.short_names.end();
      },
      "'" + base::printable(name) + "'");
}

expected<Object> Client::get(const ObjectRef& ref) {
  auto type = resource_for(ref.api_version, ref.kind);
  if (!type) return fail(type.error());
  const std::string ns = ref.namespace_.empty() && type->namespaced ? state_->config.namespace_ : ref.namespace_;
  Request request;
  request.path = type->path(ns, ref.name);
  auto r = state_->call(request, state_->info("get", type->qualified(), type->namespaced ? ns : "", ref.name));
  if (!r) return fail(r.error());
  return Object::parse(r->body);
}

expected<std::optional<Object>> Client::find(const ObjectRef& ref) {
  // A missing type is an error; a missing object is an answer.
  if (auto type = resource_for(ref.api_version, ref.kind); !type) return fail(type.error());
  auto o = get(ref);
  if (o) return std::optional<Object>(std::move(*o));
  if (o.error().status == base::exit_status::object_not_found) return std::optional<Object>();
  return fail(o.error());
}

expected<ListResult> Client::list(std::string_view api_version, std::string_view kind, std::string_view namespace_,
                                  const ListOptions& options) {
  auto type = resource_for(api_version, kind);
  if (!type) return fail(type.error());
  ListResult result;
  std::string continue_token;
  bool restarted = false;
  while (true) {
    Request request;
    request.path = with_query(type->path(namespace_),
                              {{"limit", std::to_string(options.page_size)},
                               {"continue", continue_token},
                               {"labelSelector", options.label_selector},
                               {"fieldSelector", options.field_selector}});
    request.timeout = state_->options.request_timeout;
    auto r = state_->transport.send(request);
    if (!r) return fail(r.error());
    // A continue token expires (410) when the list takes longer than the
    // server keeps its snapshot: start over once.
    if (r->status == 410 && !continue_token.empty() && !restarted) {
      restarted = true;
      continue_token.clear();
      result.items.clear();
      continue;
    }
    if (r->status >= 400) {
      return fail(to_error(parse_failure(r->status, r->body, r->retry_after),
                           state_->info("list", type->qualified(), std::string(namespace_), "")));
    }
    json doc = json::parse(r->body, nullptr, false);
    if (!doc.is_object()) return fail(base::make_error("the API server's list of " + type->qualified() + " is not JSON"));
    if (doc.contains("items") && doc["items"].is_array()) {
      for (auto& item : doc["items"]) {
        // List items carry no apiVersion and kind; give them theirs.
        item["apiVersion"] = type->api_version();
        item["kind"] = type->kind;
        result.items.push_back(object_from(std::move(item)));
      }
    }
    const json meta = doc.value("metadata", json::object());
    result.resource_version = meta.value("resourceVersion", "");
    continue_token = meta.value("continue", "");
    if (continue_token.empty()) return result;
  }
}

expected<Object> Client::apply_to(const Object& desired, const ApplyOptions& options, bool status) {
  State& state = *state_;
  auto type = resource_for(desired.api_version(), desired.kind());
  if (!type) return fail(type.error());
  if (desired.name().empty()) {
    return fail(base::usage_error("cannot apply a " + desired.kind() + " without metadata.name"));
  }
  std::string ns = desired.namespace_();
  if (type->namespaced && ns.empty()) ns = state.config.namespace_;
  Request request;
  request.method = "PATCH";
  request.content_type = "application/apply-patch+yaml";  // JSON is YAML
  request.body = desired.to_json();
  std::string path = type->path(ns, desired.name());
  if (status) path += "/status";
  request.path = with_query(path, {{"fieldManager", options.field_manager},
                                   {"force", options.force_conflicts ? "true" : ""},
                                   {"dryRun", options.dry_run ? "All" : ""}});
  auto r = state.call(request, state.info("apply", type->qualified(), type->namespaced ? ns : "", desired.name()));
  if (!r) return fail(r.error());
  return Object::parse(r->body);
}

expected<Object> Client::apply(const Object& desired, const ApplyOptions& options) {
  return apply_to(desired, options, false);
}

expected<Object> Client::apply_status(const Object& desired, const ApplyOptions& options) {
  return apply_to(desired, options, true);
}

expected<Object> Client::create(const Object& desired) { return write(desired, "POST"); }

expected<Object> Client::replace(const Object& desired) { return write(desired, "PUT"); }

expected<Object> Client::write(const Object& desired, const char* method) {
  State& state = *state_;
  auto type = resource_for(desired.api_version(), desired.kind());
  if (!type) return fail(type.error());
  const bool create = std::string_view(method) == "POST";
  if (desired.name().empty()) {
    return fail(base::usage_error("cannot " + std::string(create ? "create" : "replace") + " a " + desired.kind() +
                                  " without metadata.name"));
  }
  std::string ns = desired.namespace_();
  if (type->namespaced && ns.empty()) ns = state.config.namespace_;
  Request request;
  request.method = method;
  request.content_type = "application/json";
  request.body = desired.to_json();
  request.path = create ? type->path(ns) : type->path(ns, desired.name());
  auto r = state.call(request, state.info(create ? "create" : "update", type->qualified(), type->namespaced ? ns : "",
                                          desired.name()));
  if (!r) return fail(r.error());
  return Object::parse(r->body);
}

expected<void> Client::pod_log(const PodLogOptions& options, const std::function<bool(std::string_view)>& on_line,
                               const std::atomic<bool>* stop) {
  State& state = *state_;
  const std::string ns = options.namespace_.empty() ? state.config.namespace_ : options.namespace_;
  Request request;
  request.path = with_query("/api/v1/namespaces/" + base::percent_encode(ns) + "/pods/" + base::percent_encode(options.pod) + "/log",
                            {{"container", options.container},
                             {"tailLines", options.tail_lines ? std::to_string(*options.tail_lines) : ""},
                             {"follow", options.follow ? "true" : ""},
                             {"previous", options.previous ? "true" : ""}});
  request.accept = "*/*";
  request.timeout = options.timeout;
  request.retry = false;
  auto r = state.transport.stream(request, on_line, stop);
  if (!r) return fail(r.error());
  if (r->status >= 400) {
    return fail(to_error(parse_failure(r->status, r->body, r->retry_after),
                         state.info("get", "pods/log", ns, options.pod)));
  }
  return {};
}

expected<void> Client::remove(const ObjectRef& ref, const DeleteOptions& options) {
  auto type = resource_for(ref.api_version, ref.kind);
  if (!type) return fail(type.error());
  const std::string ns = ref.namespace_.empty() && type->namespaced ? state_->config.namespace_ : ref.namespace_;
  const char* policy = options.propagation == Propagation::foreground   ? "Foreground"
                       : options.propagation == Propagation::background ? "Background"
                                                                        : "Orphan";
  Request request;
  request.method = "DELETE";
  request.path = type->path(ns, ref.name);
  request.content_type = "application/json";
  json body = {{"apiVersion", "v1"}, {"kind", "DeleteOptions"}, {"propagationPolicy", policy}};
  if (!options.precondition_resource_version.empty())
    body["preconditions"] = {{"resourceVersion", options.precondition_resource_version}};
  request.body = body.dump();
  auto r = state_->call(request, state_->info("delete", type->qualified(), type->namespaced ? ns : "", ref.name));
  if (!r) {
    if (r.error().status == base::exit_status::object_not_found) return {};
    return fail(r.error());
  }
  if (!options.wait) return {};

  // Wait until it is gone: watch this one object by name.
  bool gone = false;
  bool listed = false;  // the (re)list that started the watch had it
  WatchOptions w;
  w.field_selector = "metadata.name=" + ref.name;
  w.timeout = options.timeout;
  auto watched = watch(type->api_version(), type->kind, type->namespaced ? ns : "", w, [&](const WatchEvent& e) {
    using T = WatchEvent::Type;
    if (e.type == T::relisted) listed = false;
    if (e.type == T::added) listed = true;
    // Not in the list the watch started from: already gone.
    if (e.type == T::deleted || (e.type == T::synced && !listed)) gone = true;
    return !gone;
  });
  if (!watched) return fail(watched.error());
  if (!gone) {
    // The list the watch started from may already have lacked it.
    auto still = find({type->api_version(), type->kind, ns, ref.name});
    if (!still) return fail(still.error());
    gone = !still->has_value();
  }
  if (!gone) {
    base::Error e = base::make_error(ref.describe() + " was not gone within " + base::format_duration(options.timeout),
                                     "it is still being deleted (finalizers, or dependents with foreground deletion)",
                                     "look at its metadata.finalizers with kubectl get -o yaml");
    e.status = base::exit_status::not_ready;
    return fail(std::move(e));
  }
  return {};
}

expected<void> Client::watch(std::string_view api_version, std::string_view kind, std::string_view namespace_,
                             const WatchOptions& options, const std::function<bool(const WatchEvent&)>& on_event,
                             const std::atomic<bool>* stop) {
  auto type = resource_for(api_version, kind);
  if (!type) return fail(type.error());
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  ListOptions list_options;
  list_options.label_selector = options.label_selector;
  list_options.field_selector = options.field_selector;

  // Lists and reports what is there; returns false when the caller is done.
  std::string version = options.resource_version;
  auto relist = [&](bool announce) -> expected<bool> {
    auto listed = list(api_version, kind, namespace_, list_options);
    if (!listed) return fail(listed.error());
    version = listed->resource_version;
    if (announce && !on_event({WatchEvent::Type::relisted, Object()})) return false;
    if (announce || options.send_initial) {
      for (auto& item : listed->items) {
        if (!on_event({WatchEvent::Type::added, std::move(item)})) return false;
      }
      if (!on_event({WatchEvent::Type::synced, Object()})) return false;
    }
    return true;
  };
  if (version.empty()) {
    auto go_on = relist(false);
    if (!go_on) return fail(go_on.error());
    if (!*go_on) return {};
  }

  while (std::chrono::steady_clock::now() < deadline && (stop == nullptr || !stop->load())) {
    const auto remaining = std::chrono::duration_cast<std::chrono::seconds>(deadline - std::chrono::steady_clock::now());
    // The server ends a watch after timeoutSeconds; keep each short enough
    // that a quiet connection is noticed, long enough to be cheap.
    const auto slice = std::clamp<long>(remaining.count(), 1, 290);
    Request request;
    request.path = with_query(type->path(namespace_), {{"watch", "1"},
                                                         {"resourceVersion", version},
                                                         {"allowWatchBookmarks", "true"},
                                                         {"timeoutSeconds", std::to_string(slice)},
                                                         {"labelSelector", options.label_selector},
                                                         {"fieldSelector", options.field_selector}});
    request.timeout = std::chrono::seconds(slice + 10);
    bool done = false;
    bool gone = false;
    std::optional<base::Error> failure;
    auto r = state_->transport.stream(
        request,
        [&](std::string_view line) {
          json event = json::parse(line, nullptr, false);
          if (!event.is_object()) return true;  // a keep-alive or garbage: ignore
          const std::string t = event.value("type", "");
          json object = event.value("object", json::object());
          if (t == "ERROR") {
            const int code = object.value("code", 0);
            if (code == 410) {
              gone = true;
            } else {
              failure = to_error(parse_failure(code, object.dump()),
                                 state_->info("watch", type->qualified(), std::string(namespace_), ""));
            }
            return false;
          }
          if (object.contains("metadata") && object["metadata"].is_object()) {
            version = object["metadata"].value("resourceVersion", version);
          }
          WatchEvent e;
          e.type = t == "ADDED"      ? WatchEvent::Type::added
                   : t == "MODIFIED" ? WatchEvent::Type::modified
                   : t == "DELETED"  ? WatchEvent::Type::deleted
                                     : WatchEvent::Type::bookmark;
          if (e.type != WatchEvent::Type::bookmark) {
            object["apiVersion"] = object.value("apiVersion", type->api_version());
            object["kind"] = object.value("kind", type->kind);
          }
          e.object = object_from(std::move(object));
          if (!on_event(e)) {
            done = true;
            return false;
          }
          return true;
        },
        stop);
    if (!r) return fail(r.error());
    if (done) return {};
    if (failure) return fail(*failure);
    if (r->status == 410) gone = true;
    if (!gone && r->status >= 400) {
      return fail(to_error(parse_failure(r->status, r->body, r->retry_after),
                           state_->info("watch", type->qualified(), std::string(namespace_), "")));
    }
    if (gone) {
      auto go_on = relist(true);
      if (!go_on) return fail(go_on.error());
      if (!*go_on) return {};
    }
  }
  return {};
}

}  // namespace harmony::kube
