#pragma once
// The Kubernetes API for harmony: typed verbs over a Transport.
//
// - Resource mapping comes from aggregated discovery (apidiscovery.k8s.io/v2,
//   one request for /api and one for /apis; the older per-group documents
//   when a server lacks it), cached under $XDG_CACHE_HOME/harmony/discovery/
//   per server for `discovery_ttl`, and fetched again once when a kind is
//   not found (a CRD installed a moment ago).
// - apply is server-side apply: PATCH with application/apply-patch+yaml,
//   fieldManager `harmony` (the caller may choose another), conflicts not
//   forced unless asked. A conflict is exit_status::conflict naming the other
//   manager and the fields.
// - list pages with `limit`/`continue`; a page token that expired (410)
//   restarts the list once from the beginning.
// - watch streams events from a resourceVersion with bookmarks; when the
//   server says the version is too old (410 Gone, or an ERROR event with code
//   410) it relists and goes on from the new version, telling the caller with
//   a `relisted` event, so nothing is missed silently.
// - remove deletes with a propagation policy and, when asked, waits (with a
//   watch) until the object is gone.
//
// Every error is a base::Error with one of the documented exit statuses
// (errors.hpp); messages name the request and the identity it ran as.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <harmony/base/expected.hpp>
#include <harmony/kube/kubeconfig.hpp>
#include <harmony/kube/object.hpp>
#include <harmony/kube/transport.hpp>

namespace harmony::kube {

// A resource type the server serves: what discovery says about a kind.
struct ResourceType {
  std::string group;       // "" for the core group
  std::string version;     // v1
  std::string kind;        // Deployment
  std::string resource;    // deployments
  bool namespaced = true;
  std::vector<std::string> short_names;
  std::vector<std::string> verbs;

  [[nodiscard]] std::string api_version() const { return group.empty() ? version : group + "/" + version; }
  // "deployments.apps", "pods": how kubectl names it.
  [[nodiscard]] std::string qualified() const { return group.empty() ? resource : resource + "." + group; }
  // /apis/apps/v1/namespaces/ns/deployments[/name]
  [[nodiscard]] std::string path(std::string_view namespace_, std::string_view name = {}) const;
};

// Which object: its type (apiVersion + kind), namespace (ignored for
// cluster-scoped kinds) and name.
struct ObjectRef {
  std::string api_version;
  std::string kind;
  std::string namespace_;
  std::string name;

  static ObjectRef of(const Object& object);
  [[nodiscard]] std::string describe() const;  // "Deployment shop/web"
};

struct ClientOptions {
  std::string cache_dir;                               // empty: $XDG_CACHE_HOME/harmony/discovery
  std::chrono::seconds discovery_ttl{6 * 3600};
  std::chrono::milliseconds request_timeout{30000};
  TransportOptions transport{};
};

struct ApplyOptions {
  std::string field_manager = "harmony";
  bool force_conflicts = false;
  bool dry_run = false;                                // server-side dry run (plan)
};

enum class Propagation { foreground, background, orphan };

struct DeleteOptions {
  Propagation propagation = Propagation::background;
  bool wait = true;                                    // until the object is gone
  std::chrono::milliseconds timeout{60000};
  // Only if it is still this version (a Lease we hold): another one is
  // exit_status::conflict and is left alone.
  std::string precondition_resource_version{};
};

struct ListOptions {
  std::string label_selector;
  std::string field_selector;
  int page_size = 500;
};

struct ListResult {
  std::vector<Object> items;
  std::string resource_version;                        // of the list, to watch from
};

struct WatchEvent {
  // synced: the objects that existed when the watch (re)started have all been
  // reported as added; what follows are changes. relisted: the server forgot
  // the version the watch was at (410), so everything is reported again as
  // added, then synced: drop what you knew.
  enum class Type { added, modified, deleted, bookmark, relisted, synced };
  Type type = Type::added;
  Object object;             // empty for relisted and synced
};

struct WatchOptions {
  std::string label_selector;
  std::string field_selector;
  std::string resource_version;                        // empty: list first, then watch from the list's version
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};  // how long to keep watching in all
  bool send_initial = true;                            // with an empty resource_version: report the listed objects as added
};

struct PodLogOptions {
  std::string namespace_;
  std::string pod;
  std::string container;                               // empty: the only one
  std::optional<int> tail_lines{};
  bool follow = false;
  bool previous = false;                               // the last terminated container's log
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
};

class Client {
 public:
  explicit Client(ClientConfig config, ClientOptions options = {});
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // kubeconfig + this process's environment.
  static base::expected<std::unique_ptr<Client>> connect(const LoadOptions& load, ClientOptions options = {});

  [[nodiscard]] const ClientConfig& config() const;
  [[nodiscard]] Transport& transport();
  // "user 'admin' (context 'dev')": for messages.
  [[nodiscard]] std::string identity() const;

  // The server's version (GET /version): "v1.35.4".
  base::expected<std::string> server_version();

  // The resource type of an apiVersion + kind.
  base::expected<ResourceType> resource_for(std::string_view api_version, std::string_view kind);
  // A resource by the names kubectl accepts: "deployments", "deploy", "Deployment", "deployments.apps".
  base::expected<ResourceType> resource_named(std::string_view name);

  base::expected<Object> get(const ObjectRef& ref);
  // nullopt when it does not exist; other failures are errors.
  base::expected<std::optional<Object>> find(const ObjectRef& ref);
  base::expected<ListResult> list(std::string_view api_version, std::string_view kind, std::string_view namespace_,
                                  const ListOptions& options = {});
  base::expected<Object> apply(const Object& desired, const ApplyOptions& options = {});
  // Applies the status subresource (operators).
  base::expected<Object> apply_status(const Object& desired, const ApplyOptions& options = {});
  // Creates (POST); an object that exists already is exit_status::conflict.
  base::expected<Object> create(const Object& desired);
  // Replaces (PUT) the object whose metadata.resourceVersion it carries:
  // someone else's change since is exit_status::conflict (optimistic locking).
  base::expected<Object> replace(const Object& desired);
  // Deletes; a missing object is success (nothing to do).
  base::expected<void> remove(const ObjectRef& ref, const DeleteOptions& options = {});

  // Calls `on_event` for each change until it returns false, `stop` becomes
  // true, or the watch's timeout passes (then: success). The watch survives
  // the server closing the stream (it resumes from the last version seen)
  // and 410 Gone (it relists).
  base::expected<void> watch(std::string_view api_version, std::string_view kind, std::string_view namespace_,
                             const WatchOptions& options, const std::function<bool(const WatchEvent&)>& on_event,
                             const std::atomic<bool>* stop = nullptr);

  // A pod's log (GET .../pods/<name>/log): each line to `on_line` until it
  // returns false, the log ends (without follow), `stop`, or `timeout`.
  base::expected<void> pod_log(const PodLogOptions& options, const std::function<bool(std::string_view)>& on_line,
                               const std::atomic<bool>* stop = nullptr);

  // Forgets what discovery said, so that the next lookup asks the server
  // again: a CRD just became Established and its kind is served now.
  void invalidate_discovery();

  // How many discovery documents were fetched from the server (not the cache).
  [[nodiscard]] int discovery_fetches() const;

 private:
  struct State;
  base::expected<Object> apply_to(const Object& desired, const ApplyOptions& options, bool status);
  base::expected<Object> write(const Object& desired, const char* method);
  std::unique_ptr<State> state_;
};

}  // namespace harmony::kube
