#pragma once
// Helm charts, installed through the `helm` program (3.12 or newer, or 4.x).
//
// harmony does not link helm: it runs the binary through base::run_process
// (argv vectors, never a shell), reads its JSON output where helm offers one
// (`-o json`), and turns its failures into typed errors. What it asks of helm:
//
// - upgrade_install: `helm upgrade --install --reset-values -o json`, without
//   `--wait`: harmony waits on the release's objects itself, with its own
//   readiness rules (readiness.hpp), so it returns them. `--reset-values`
//   makes the release's values exactly the ones given, also when none are
//   given (helm would otherwise keep the previous release's).
// - manifest, status (`helm history --max 1`), values (`helm get values`),
//   uninstall (`helm uninstall --wait`: a deletion has no readiness rules to
//   disagree on, so helm may wait for the objects to be gone), render
//   (`helm template --no-hooks`: what a release would hold, without a
//   cluster).
//
// How helm reaches the cluster is a HelmTarget: the same kubeconfig, context
// and namespace as harmony's own client (`helm_target`). The environment's
// HELM_KUBE* and HELM_NAMESPACE variables are removed from helm's, so they
// cannot send it elsewhere.
//
// Values are secrets as far as harmony knows: they are written to a 0600
// file in a fresh 0700 directory, given to helm with `-f`, and removed when
// helm ends, whatever happened. They never appear on a command line or in an
// error.
//
// Errors (docs/exit-codes.md): helm missing, older than 3.12 or newer than
// 4.x is exit_status::unsupported with a hint to install one
// (https://helm.sh/docs/intro/install/). A failed helm command is a
// base::Error whose reason is helm's own words (its `Error:` lines, printable)
// and whose status says what happened: another operation in progress
// (lock_held), cluster unreachable (unreachable), credentials refused
// (unauthorized), RBAC (forbidden), objects owned by someone else
// (conflict), objects refused as invalid (invalid), values refused by the
// chart (invalid_settings), a chart, release, namespace or CRD that does not
// exist (object_not_found), a wait that ran out of time (not_ready), helm
// itself out of time (timed_out); anything else is failure.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <harmony/base/expected.hpp>
#include <harmony/base/version.hpp>
#include <harmony/kube/kubeconfig.hpp>
#include <harmony/kube/object.hpp>

namespace harmony::kube {

// How helm reaches the cluster.
struct HelmTarget {
  // A kubeconfig file (helm --kubeconfig), or a ':'-separated list (given to
  // helm as KUBECONFIG); empty: helm's default, as kubectl's.
  std::string kubeconfig{};
  std::string context{};     // --kube-context; empty: the current context
  std::string namespace_{};  // --namespace, always passed: it must not be empty
};

// The target that reaches what `load_client_config(load)` returned.
HelmTarget helm_target(const LoadOptions& load, const ClientConfig& config);

// Where a chart comes from. `chart` is one of
// - a local chart directory or .tgz archive (a path; it must exist);
// - with `repository`, the chart's name in that repository (helm --repo URL);
// - an OCI reference, oci://registry/path/chart.
// Names from the user's own `helm repo add` list ("bitnami/nginx") are not
// accepted: a deploy must not depend on the state of one user's helm.
struct HelmChart {
  std::string chart{};
  std::string repository{};  // https://... for a chart by name; empty otherwise
  std::string version{};     // --version: exact, or a constraint (^1.2); empty: the latest. Not for local charts
  bool plain_http = false;   // an oci:// registry that speaks plain HTTP (a local one, such as k3d's): --plain-http
};

enum class HelmChartSource { local, repository, oci };
HelmChartSource source_of(const HelmChart& chart);

struct HelmReleaseRequest {
  std::string release{};     // a DNS-1123 subdomain of at most 53 characters
  HelmChart chart{};
  // A YAML (or JSON) document of values, opaque to harmony; empty: none.
  std::string values{};
  bool create_namespace = false;
  // How long helm may take in all; also passed as its --timeout (the limit
  // for each hook it runs). Past it (and a grace for helm to record the
  // failure) helm is stopped: exit_status::timed_out.
  std::chrono::milliseconds timeout{std::chrono::minutes(5)};
  // Server-side dry run (--dry-run=server; plain --dry-run on helm 3.12):
  // the release as it would be, nothing changed.
  bool dry_run = false;
};

// One revision of a release, as `helm history` and `helm upgrade -o json`
// report it.
struct HelmReleaseInfo {
  std::string name{};
  std::string namespace_{};
  int revision = 0;
  std::string status{};       // deployed, failed, pending-install, pending-upgrade, superseded, uninstalling, ...
  std::string chart{};        // name-version: "nginx-1.2.3"
  std::string app_version{};
  std::string updated{};      // RFC 3339, as helm's JSON has it
  std::string description{};  // "Install complete", or why it failed
};

// What upgrade_install did: the revision, and the objects of the release
// (its manifest, hooks excluded) for the caller to wait on.
struct HelmRelease {
  HelmReleaseInfo info{};
  std::vector<Object> objects{};
};

class Helm {
 public:
  // The helm to use: `binary` if given (a path, or a name looked up in
  // PATH), else $HARMONY_HELM, else `helm` in PATH. Runs
  // `helm version --template {{.Version}}` and refuses versions outside
  // [3.12, 5).
  static base::expected<Helm> find(std::string_view binary = {});

  [[nodiscard]] const std::string& path() const { return path_; }
  [[nodiscard]] const base::Version& version() const { return version_; }

  base::expected<HelmRelease> upgrade_install(const HelmTarget& target, const HelmReleaseRequest& request) const;
  // The release's objects (`helm get manifest`), in manifest order.
  base::expected<std::vector<Object>> manifest(const HelmTarget& target, std::string_view release) const;
  // The latest revision; nullopt when there is no such release.
  base::expected<std::optional<HelmReleaseInfo>> status(const HelmTarget& target, std::string_view release) const;
  // The latest revision with its objects, in one call (`helm status -o json`
  // carries the manifest); nullopt when there is no such release. Its chart
  // name is empty on helm 4, whose status leaves the chart out.
  base::expected<std::optional<HelmRelease>> current(const HelmTarget& target, std::string_view release) const;
  // The values the release was given (a JSON document; "{}" when none), for
  // plans. A secret in them is the caller's to redact.
  base::expected<std::string> values(const HelmTarget& target, std::string_view release) const;
  // Uninstalls and waits (up to `timeout`) until its objects are gone. A
  // release that does not exist is success.
  base::expected<void> uninstall(const HelmTarget& target, std::string_view release,
                                 std::chrono::milliseconds timeout = std::chrono::minutes(5)) const;
  // The objects the release would hold (`helm template`), rendered without
  // the cluster: helm's default capabilities, `lookup` finds nothing, and
  // only target.namespace_ is used. For the server's view, upgrade_install
  // with dry_run. CRDs from the chart's crds/ directory are not included
  // (nor are they in manifest()).
  base::expected<std::vector<Object>> render(const HelmTarget& target, const HelmReleaseRequest& request) const;

 private:
  Helm(std::string path, base::Version version) : path_(std::move(path)), version_(std::move(version)) {}
  std::string path_;
  base::Version version_;
};

// ---- The steps, tested alone ---------------------------------------------------
// Pure functions, but for check_request, which looks for a local chart.

// The helm versions harmony works with: [3.12.0, 5.0.0).
bool helm_version_supported(const base::Version& version);
// What `helm version --template {{.Version}}` printed ("v3.16.2",
// "v4.1.4+g05fa379"), checked against the supported range. Errors are
// exit_status::unsupported, name `path` and carry the install hint.
base::expected<base::Version> parse_helm_version(std::string_view printed, std::string_view path);

// Checks a request before helm sees it: a valid release name, a namespace,
// a chart source that makes sense (exists, when local), a values document
// that is a YAML map.
base::expected<void> check_request(const HelmTarget& target, const HelmReleaseRequest& request);

enum class HelmOperation { upgrade_install, render };
// The arguments after the program name, for this helm version. `values_file`
// is where the values were written (empty: no values).
std::vector<std::string> helm_arguments(HelmOperation operation, const base::Version& helm, const HelmTarget& target,
                                        const HelmReleaseRequest& request, std::string_view values_file);

// A manifest (multi-document YAML, as `helm get manifest` and `helm template`
// print it) as objects, in order; empty documents and comments are skipped,
// `kind: List` is flattened. Scalars are typed as helm's YAML reader types
// them (YAML 1.1: yes/no are booleans, 0755 is octal). Objects of namespaced
// kinds without a namespace get `namespace_` (custom resources count as
// namespaced: the client ignores a namespace on a cluster-scoped kind).
base::expected<std::vector<Object>> parse_manifest(std::string_view yaml, std::string_view namespace_);

// A revision from `helm history -o json` (the last element) or a release
// from `helm upgrade -o json`.
base::expected<HelmReleaseInfo> parse_history(std::string_view json, std::string_view release, std::string_view namespace_);
base::expected<HelmRelease> parse_release(std::string_view json);

// Helm's own record of a release's latest revision, from the Secrets its
// default storage driver keeps (`sh.helm.release.v1.<name>.v<revision>`,
// labelled owner=helm, name=<release>): the revision with the highest
// `version` label, decoded as helm does (base64, gzip, JSON). nullopt when
// there are none. Reading these is one API call, against a process of helm
// for `helm status`.
base::expected<std::optional<HelmRelease>> parse_stored_release(const std::vector<Object>& secrets);
// Raw gzip data (RFC 1952) inflated; at most `limit` bytes out.
base::expected<std::string> gunzip(std::string_view data, std::size_t limit);

// What a failed helm command said, as an error: `doing` completes "helm
// could not ..." ("install or upgrade release 'web' in namespace 'shop'");
// `release` and `namespace_` go into hints.
base::Error helm_failure(std::string_view doing, std::string_view helm_stderr, std::string_view release = {},
                         std::string_view namespace_ = {});

}  // namespace harmony::kube
