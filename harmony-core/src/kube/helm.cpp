#include <harmony/kube/helm.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <optional>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

#include <boost/beast/zlib/inflate_stream.hpp>
#include <yaml-cpp/yaml.h>

#include <harmony/base/files.hpp>
#include <harmony/base/names.hpp>
#include <harmony/base/paths.hpp>
#include <harmony/base/process.hpp>
#include <harmony/base/text.hpp>
#include <harmony/kube/json.hpp>

namespace harmony::kube {
namespace {

namespace es = base::exit_status;
using nlohmann::json;
using std::chrono::milliseconds;

constexpr std::string_view install_hint =
    "install helm 3.12 or newer, or 4.x (https://helm.sh/docs/intro/install/), or set HARMONY_HELM to the helm to use";

// Commands that only read (history, get) should answer quickly; a cluster
// that does not is reported rather than waited on for ever.
constexpr milliseconds read_timeout = std::chrono::minutes(1);
// helm answers SIGTERM by recording the release as failed (instead of leaving
// it pending, which would lock it): give it time to do so before SIGKILL.
constexpr milliseconds helm_kill_grace = std::chrono::seconds(10);
// Past the caller's timeout, helm's own --timeout has normally fired; this
// is for a helm that hangs anyway.
constexpr milliseconds helm_timeout_grace = std::chrono::seconds(30);
// A release's JSON carries its whole chart (templates, files): large charts
// make megabytes of it.
constexpr std::size_t helm_output_limit = 128u * 1024 * 1024;

base::Error error_with(int status, std::string message, std::string reason, std::string hint) {
  base::Error e = base::make_error(std::move(message), std::move(reason), std::move(hint));
  e.status = status;
  return e;
}

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

bool starts_with(std::string_view text, std::string_view prefix) { return text.substr(0, prefix.size()) == prefix; }

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// 'text', printable: names in messages.
std::string named(std::string_view text) { return "'" + base::printable(text) + "'"; }

std::string duration_flag(milliseconds timeout) {
  // Go durations: "300s", "1500ms".
  return timeout.count() % 1000 == 0 ? std::to_string(timeout.count() / 1000) + "s" : std::to_string(timeout.count()) + "ms";
}

std::string seconds_text(milliseconds timeout) { return std::to_string((timeout.count() + 999) / 1000) + "s"; }

// ---- values ------------------------------------------------------------------

// The values document in a 0600 file inside a fresh 0700 directory, removed
// with everything in it when this goes out of scope, whatever happened.
class ValuesFile {
 public:
  static base::expected<ValuesFile> write(std::string_view values) {
    ValuesFile file;
    if (values.empty()) return file;
    std::error_code ec;
    const std::filesystem::path tmp = std::filesystem::temp_directory_path(ec);
    std::string dir = ((ec ? std::filesystem::path("/tmp") : tmp) / "harmony-helm-XXXXXX").string();
    if (::mkdtemp(dir.data()) == nullptr) {
      return base::fail(base::os_error(errno, "cannot create a directory for the chart's values in " + base::parent_dir(dir)));
    }
    file.dir_ = dir;
    file.path_ = base::join_path(dir, "values.yaml");
    if (auto written = base::write_file_atomically(file.path_, values, 0600, /*durable=*/false); !written) {
      return base::fail(written.error());
    }
    return file;
  }

  ValuesFile() = default;
  ValuesFile(ValuesFile&& other) noexcept
      : dir_(std::exchange(other.dir_, {})), path_(std::exchange(other.path_, {})) {}
  ValuesFile& operator=(ValuesFile&&) = delete;
  ValuesFile(const ValuesFile&) = delete;
  ValuesFile& operator=(const ValuesFile&) = delete;
  ~ValuesFile() {
    if (dir_.empty()) return;
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string dir_;
  std::string path_;
};

// ---- YAML as helm reads it ---------------------------------------------------

// An integer as Go's strconv.ParseInt(text, 0, 64) reads one (a sign, 0x,
// 0o or 0b, and a leading 0 for octal), or beyond int64 as ParseUint does.
std::optional<json> go_integer(std::string_view text) {
  bool negative = false;
  if (!text.empty() && (text.front() == '+' || text.front() == '-')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  int base = 10;
  if (text.size() > 1 && text.front() == '0') {
    const char prefix = static_cast<char>(std::tolower(static_cast<unsigned char>(text[1])));
    base = prefix == 'x' ? 16 : prefix == 'o' ? 8 : prefix == 'b' ? 2 : 8;
    text.remove_prefix(base == 8 && prefix != 'o' ? 1 : 2);
  }
  std::uint64_t magnitude = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), magnitude, base);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  constexpr auto int_max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (!negative) return magnitude <= int_max ? json(static_cast<std::int64_t>(magnitude)) : json(magnitude);
  if (magnitude > int_max + 1) return std::nullopt;
  return json(magnitude == int_max + 1 ? std::numeric_limits<std::int64_t>::min() : -static_cast<std::int64_t>(magnitude));
}

// [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
bool yaml_float_syntax(std::string_view s) {
  std::size_t i = 0;
  auto digits = [&] {
    const std::size_t from = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    return i - from;
  };
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  if (i < s.size() && s[i] == '.') {
    ++i;
    if (digits() == 0) return false;
  } else {
    if (digits() == 0) return false;
    if (i < s.size() && s[i] == '.') {
      ++i;
      digits();
    }
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    if (digits() == 0) return false;
  }
  return i == s.size();
}

// A plain (unquoted, untagged) scalar typed as go-yaml v2 types it: that is
// the reader behind helm and kubectl (sigs.k8s.io/yaml), so a manifest reads
// here as the API server received it. YAML 1.1: y/yes/on are true, 0755 is
// octal, '_' separates digits; timestamps stay strings; .inf and .nan too
// (JSON has no such numbers).
json plain_scalar(const std::string& text) {
  static constexpr std::array<std::string_view, 11> yes{"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"};
  static constexpr std::array<std::string_view, 11> no{"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"};
  static constexpr std::array<std::string_view, 5> null{"", "~", "null", "Null", "NULL"};
  if (std::find(yes.begin(), yes.end(), text) != yes.end()) return true;
  if (std::find(no.begin(), no.end(), text) != no.end()) return false;
  if (std::find(null.begin(), null.end(), text) != null.end()) return nullptr;
  const char first = text.front();
  if (!(first == '+' || first == '-' || first == '.' || (first >= '0' && first <= '9'))) return text;
  std::string plain = text;
  plain.erase(std::remove(plain.begin(), plain.end(), '_'), plain.end());
  if (first != '.') {
    if (auto integer = go_integer(plain)) return *integer;
  }
  if (!yaml_float_syntax(plain)) return text;
  double value = 0;
  const std::string_view unsigned_part = plain.front() == '+' ? std::string_view(plain).substr(1) : std::string_view(plain);
  const auto [end, ec] = std::from_chars(unsigned_part.data(), unsigned_part.data() + unsigned_part.size(), value);
  if (ec != std::errc() || end != unsigned_part.data() + unsigned_part.size()) return text;
  // Through JSON, as the manifest travels to the API server, 3.0 is 3.
  if (std::trunc(value) == value && std::fabs(value) < 9.2e18) return static_cast<std::int64_t>(value);
  return value;
}

// Where a YAML document is broken, and how, but not what it says there:
// values and manifests hold secrets, and a few of yaml-cpp's messages quote
// the text after a ':' ("unknown escape character: x").
std::string yaml_problem(const YAML::Exception& e) {
  return "line " + std::to_string(e.mark.line + 1) + ", column " + std::to_string(e.mark.column + 1) + ": " +
         e.msg.substr(0, e.msg.find(':'));
}

// A member that must be a string to mean anything; empty otherwise.
std::string string_member(const json& doc, const char* key) {
  const auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool is_plain(const YAML::Node& node) { return node.Tag() == "?"; }

// Tags that still let the scalar be typed; "!" (quoted, block) and !!str
// keep it text.
bool resolvable(const YAML::Node& node) {
  const std::string& tag = node.Tag();
  return tag == "?" || tag == "tag:yaml.org,2002:int" || tag == "tag:yaml.org,2002:float" ||
         tag == "tag:yaml.org,2002:bool" || tag == "tag:yaml.org,2002:null";
}

class YamlToJson {
 public:
  // Aliases can make a small text a huge tree; a manifest has no business
  // being that large.
  static constexpr std::size_t max_values = 4'000'000;

  base::expected<json> convert(const YAML::Node& node) {
    if (++values_ > max_values) {
      return base::fail(base::make_error("the manifest is too large", "it expands to more than 4 000 000 values"));
    }
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null: return json(nullptr);
      case YAML::NodeType::Scalar: return resolvable(node) ? plain_scalar(node.Scalar()) : json(node.Scalar());
      case YAML::NodeType::Sequence: {
        json out = json::array();
        for (const YAML::Node& item : node) {
          auto value = convert(item);
          if (!value) return value;
          out.push_back(std::move(*value));
        }
        return out;
      }
      case YAML::NodeType::Map: return convert_map(node);
    }
    return json(nullptr);
  }

 private:
  base::expected<json> convert_map(const YAML::Node& node) {
    json out = json::object();
    std::vector<YAML::Node> merges;
    for (const auto& item : node) {
      if (!item.first.IsScalar()) {
        return base::fail(base::make_error("the manifest has a map key that is not a scalar",
                                           "line " + std::to_string(item.first.Mark().line + 1)));
      }
      if (is_plain(item.first) && item.first.Scalar() == "<<") {
        merges.push_back(item.second);
        continue;
      }
      auto value = convert(item.second);
      if (!value) return value;
      out[key_text(item.first)] = std::move(*value);
    }
    // `<<: *base` (or a list of them) fills in what the map does not say itself.
    for (const YAML::Node& merge : merges) {
      std::vector<YAML::Node> sources;
      if (merge.IsSequence()) {
        for (const YAML::Node& s : merge) sources.push_back(s);
      } else {
        sources.push_back(merge);
      }
      for (const YAML::Node& source : sources) {
        auto merged = convert(source);
        if (!merged) return merged;
        if (!merged->is_object()) continue;
        for (const auto& [key, value] : merged->items()) {
          if (!out.contains(key)) out[key] = value;
        }
      }
    }
    return out;
  }

  // JSON keys are strings; sigs.k8s.io/yaml spells typed keys as Go prints them.
  static std::string key_text(const YAML::Node& key) {
    if (!resolvable(key)) return key.Scalar();
    const json typed = plain_scalar(key.Scalar());
    if (typed.is_boolean()) return typed.get<bool>() ? "true" : "false";
    if (typed.is_number_integer()) return typed.dump();
    if (typed.is_null()) return "null";
    return key.Scalar();
  }

  std::size_t values_ = 0;
};

// Built-in kinds that live outside namespaces, by "group/Kind" (the core
// group is ""), as kube-apiserver 1.35 serves them.
bool cluster_scoped(std::string_view api_version, std::string_view kind) {
  static constexpr auto kinds = std::to_array<std::string_view>({
      "/ComponentStatus", "/Namespace", "/Node", "/PersistentVolume",
      "admissionregistration.k8s.io/MutatingWebhookConfiguration",
      "admissionregistration.k8s.io/ValidatingWebhookConfiguration",
      "admissionregistration.k8s.io/ValidatingAdmissionPolicy",
      "admissionregistration.k8s.io/ValidatingAdmissionPolicyBinding",
      "admissionregistration.k8s.io/MutatingAdmissionPolicy",
      "admissionregistration.k8s.io/MutatingAdmissionPolicyBinding",
      "apiextensions.k8s.io/CustomResourceDefinition", "apiregistration.k8s.io/APIService",
      "authentication.k8s.io/TokenReview", "authentication.k8s.io/SelfSubjectReview",
      "authorization.k8s.io/SelfSubjectAccessReview", "authorization.k8s.io/SelfSubjectRulesReview",
      "authorization.k8s.io/SubjectAccessReview", "certificates.k8s.io/CertificateSigningRequest",
      "certificates.k8s.io/ClusterTrustBundle", "flowcontrol.apiserver.k8s.io/FlowSchema",
      "flowcontrol.apiserver.k8s.io/PriorityLevelConfiguration", "networking.k8s.io/IngressClass",
      "networking.k8s.io/IPAddress", "networking.k8s.io/ServiceCIDR", "node.k8s.io/RuntimeClass",
      "rbac.authorization.k8s.io/ClusterRole", "rbac.authorization.k8s.io/ClusterRoleBinding",
      "resource.k8s.io/DeviceClass", "resource.k8s.io/ResourceSlice", "scheduling.k8s.io/PriorityClass",
      "storage.k8s.io/CSIDriver", "storage.k8s.io/CSINode", "storage.k8s.io/StorageClass",
      "storage.k8s.io/VolumeAttachment", "storage.k8s.io/VolumeAttributesClass"});
  const auto slash = api_version.find('/');
  const std::string_view group = slash == std::string_view::npos ? std::string_view() : api_version.substr(0, slash);
  const std::string key = std::string(group) + "/" + std::string(kind);
  return std::find(kinds.begin(), kinds.end(), key) != kinds.end();
}

// ---- helm's failures -----------------------------------------------------------

// helm's words: its `Error:` line and what follows, without helm 4's log
// lines (level=...) and warnings, and without the "UPGRADE FAILED:" prefix
// that helm 3 adds; printable, one line.
std::string helm_words(std::string_view err) {
  const auto lines = base::split_lines(err);
  std::size_t from = 0;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (starts_with(lines[i], "Error: ")) {
      from = i;
      break;
    }
  }
  std::vector<std::string> kept;
  for (std::size_t i = from; i < lines.size(); ++i) {
    std::string_view line = trim(lines[i]);
    if (line.empty() || starts_with(line, "level=") || starts_with(line, "WARNING: ")) continue;
    if (kept.empty()) {
      for (std::string_view prefix : {"Error: ", "UPGRADE FAILED: ", "INSTALLATION FAILED: ", "INSTALL FAILED: "}) {
        if (starts_with(line, prefix)) line.remove_prefix(prefix.size());
      }
    }
    kept.push_back(base::printable(line));
  }
  if (kept.empty()) return "helm gave no reason on its standard error";
  std::string words = base::join(kept, "; ");
  constexpr std::size_t max_words = 2000;
  if (words.size() > max_words) words = words.substr(0, max_words) + "...";
  return words;
}

// `pattern` is found in `text` when its '*'-separated pieces appear in order.
bool matches(std::string_view text, std::string_view pattern) {
  std::size_t at = 0;
  while (true) {
    const auto star = pattern.find('*');
    const std::string_view piece = pattern.substr(0, star);
    const auto found = text.find(piece, at);
    if (found == std::string_view::npos) return false;
    if (star == std::string_view::npos) return true;
    at = found + piece.size();
    pattern.remove_prefix(star + 1);
  }
}

struct FailureRule {
  std::vector<std::string_view> patterns;  // lower case; any one is enough
  int status = es::failure;
  std::string_view hint;                   // {release} and {namespace} are filled in
};

// First match wins, so the order matters: helm says "kubernetes cluster
// unreachable" for refused credentials and unknown contexts too,
// repositories fail with the same network words as clusters, and the API
// server's validation says "Forbidden:" of fields that may not change.
const std::vector<FailureRule>& failure_rules() {
  static const std::vector<FailureRule> rules{
      {{"another operation (install/upgrade/rollback) is in progress"},
       es::lock_held,
       "wait for the other helm command on release '{release}' to finish. If none is running, one was interrupted and "
       "left the release pending: see 'helm history {release} -n {namespace}', then 'helm rollback {release} -n "
       "{namespace}' (or 'helm uninstall {release} -n {namespace}' if it never installed)"},
      {{"context \"*\" does not exist"}, es::usage, "check the context's name: kubectl config get-contexts"},
      {{"is not a valid chart repository or cannot be reached"},
       es::unreachable,
       "check the repository's URL, and that this machine can reach it"},
      {{"failed to authorize", "response status code 401", "response status code 403", "unauthorized: authentication required",
        "denied: requested access"},
       es::failure,
       "the chart's registry refused access: log in to it (helm registry login HOST), or check the chart's reference"},
      {{"chart \"*\" version \"*\" not found", "chart \"*\" not found", "no chart version found", "no chart name found",
        "path \"*\" not found", "chart.yaml file is missing", "response status code 404", "manifest unknown",
        "failed to perform \"fetchreference\""},
       es::object_not_found,
       "check the chart's name and version, and where it comes from (a local path, a repository URL, or oci://)"},
      {{"missing in charts/ directory"}, es::object_not_found, "fetch the chart's dependencies first: helm dependency build CHART"},
      {{"ensure crds are installed first", "no matches for kind", "resource mapping not found"},
       es::object_not_found,
       "install the CustomResourceDefinitions the chart needs first, or leave those objects out through its values"},
      {{"namespaces \"*\" not found"},
       es::object_not_found,
       "create namespace '{namespace}' first, or ask for it to be created (create_namespace)"},
      {{"release: not found"}, es::object_not_found, "check the release's name and namespace: helm list -n {namespace}"},
      {{"the server has asked for the client to provide credentials", "you must be logged in to the server", "unauthorized"},
       es::unauthorized,
       "have the credentials expired? Log in again, or check the user in your kubeconfig"},
      {{"because it is being terminated"},
       es::forbidden,
       "namespace '{namespace}' is being deleted: wait until it is gone, then deploy again"},
      {{"exists and cannot be imported into the current release", "cannot re-use a name that is still in use"},
       es::conflict,
       "something else owns these objects: delete them, or mark them for adoption by release '{release}' (label "
       "app.kubernetes.io/managed-by=Helm, annotations meta.helm.sh/release-name={release} and "
       "meta.helm.sh/release-namespace={namespace})"},
      {{"apply failed with", "conflict with \""},
       es::conflict,
       "another field manager (kubectl, harmony, a controller) owns these fields: change them in one place only"},
      {{"values don't meet the specifications of the schema", "execution error at ("},
       es::invalid_settings,
       "the chart refused its values: fix them"},
      {{"is invalid", "error validating data", "field not declared in schema", "failed to create typed patch object",
        "unknown field \""},
       es::invalid,
       "fix the values (or the chart) that produce these fields"},
      {{"is forbidden"},
       es::forbidden,
       "ask a cluster admin for permission to do what is named above (helm also reads and writes Secrets in namespace "
       "'{namespace}': its release records), or use another context"},
      {{"yaml parse error", "parse error at", "error converting yaml to json", "template: "},
       es::failure,
       "the chart's templates do not render to valid manifests: look at them with helm template"},
      {{"chart requires kubeversion"}, es::unsupported, "use a version of the chart made for this cluster's Kubernetes"},
      {{"kubernetes cluster unreachable", "connection refused", "no such host", "i/o timeout", "no route to host",
        "network is unreachable", "tls handshake timeout", "connection reset by peer", "x509: ", "client.timeout exceeded"},
       es::unreachable,
       "is the cluster running, and is the context the one you meant? Check with: kubectl cluster-info (a chart's "
       "repository or registry must be reachable too)"},
      {{"context deadline exceeded", "timed out waiting for the condition"},
       es::not_ready,
       "what helm waited on (a hook's Job or Pod, objects being deleted) did not finish in time: look at it with "
       "kubectl, or allow more time"},
  };
  return rules;
}

void replace_all(std::string& text, std::string_view what, std::string_view with) {
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + with.size())) {
    text.replace(at, what.size(), with);
  }
}

std::string fill(std::string_view hint, std::string_view release, std::string_view namespace_) {
  std::string out(hint);
  replace_all(out, "{release}", base::printable(release));
  replace_all(out, "{namespace}", base::printable(namespace_));
  return out;
}

// ---- running helm ----------------------------------------------------------------

// helm honours these over its flags' defaults: a HELM_KUBETOKEN in the
// user's shell would make helm act as someone the kubeconfig does not name.
// HELM_DEBUG would mix helm's debug log into the errors it reports.
constexpr std::array<const char*, 10> helm_variables_kept_out{
    "HELM_KUBEAPISERVER", "HELM_KUBEASGROUPS", "HELM_KUBEASUSER", "HELM_KUBECAFILE", "HELM_KUBECONTEXT",
    "HELM_KUBEINSECURE_SKIP_TLS_VERIFY", "HELM_KUBETLS_SERVER_NAME", "HELM_KUBETOKEN", "HELM_NAMESPACE",
    "HELM_DEBUG"};

bool kubeconfig_is_list(const HelmTarget& target) { return target.kubeconfig.find(':') != std::string::npos; }

std::vector<std::string> target_arguments(const HelmTarget& target) {
  std::vector<std::string> args{"--namespace", target.namespace_};
  if (!target.kubeconfig.empty() && !kubeconfig_is_list(target)) {
    args.insert(args.end(), {"--kubeconfig", target.kubeconfig});
  }
  if (!target.context.empty()) args.insert(args.end(), {"--kube-context", target.context});
  return args;
}

// One helm command: what to run and what to call it in errors.
struct Call {
  std::vector<std::string> args{};
  milliseconds timeout = read_timeout;
  std::string doing{};        // completes "helm could not ..."
  std::string release{};
  std::string namespace_{};
  std::string values_file{};  // never named in errors
  bool missing_release_is_empty = false;
};

// helm's standard output; nullopt when the release does not exist and the
// call said that is an answer, not an error.
base::expected<std::optional<std::string>> run_helm(const std::string& path, const HelmTarget& target, const Call& call) {
  base::ProcessSpec spec;
  spec.argv.push_back(path);
  spec.argv.insert(spec.argv.end(), call.args.begin(), call.args.end());
  base::Environment env = base::Environment::current();
  for (const char* name : helm_variables_kept_out) env.unset(name);
  if (kubeconfig_is_list(target)) env.set("KUBECONFIG", target.kubeconfig);
  spec.env = std::move(env);
  spec.timeout = call.timeout + helm_timeout_grace;
  spec.kill_grace = helm_kill_grace;
  spec.output_limit = helm_output_limit;

  auto result = base::run_process(spec);
  if (!result) {
    base::Error e = result.error();
    e.status = es::unsupported;
    e.message = "cannot run helm " + named(path);
    e.hint = std::string(install_hint);
    return base::fail(std::move(e));
  }
  if (result->end == base::ProcessResult::End::timed_out) {
    return base::fail(error_with(es::timed_out, "helm did not " + call.doing + " within " + seconds_text(call.timeout),
                                 "it was stopped after " + seconds_text(result->elapsed),
                                 "is the cluster slow or unreachable (kubectl cluster-info)? An install or upgrade may "
                                 "need more time: 'helm history " + base::printable(call.release) + " -n " +
                                     base::printable(call.namespace_) + "' shows what it did"));
  }
  if (result->end == base::ProcessResult::End::signaled) {
    return base::fail(error_with(es::failure, "helm could not " + call.doing, "helm " + result->describe(), {}));
  }
  if (result->exit_code != 0) {
    std::string err = std::move(result->err);
    if (!call.values_file.empty()) replace_all(err, call.values_file, "(the values)");
    base::Error e = helm_failure(call.doing, err, call.release, call.namespace_);
    if (call.missing_release_is_empty && e.status == es::object_not_found && e.reason.find("release: not found") != std::string::npos) {
      return std::optional<std::string>();
    }
    return base::fail(std::move(e));
  }
  if (result->out_truncated) {
    return base::fail(error_with(es::failure, "helm could not " + call.doing,
                                 "its output is larger than " + std::to_string(helm_output_limit >> 20) + " MiB", {}));
  }
  return std::optional<std::string>(std::move(result->out));
}

std::string release_doing(std::string_view verb, std::string_view release, const HelmTarget& target) {
  return std::string(verb) + " release " + named(release) + " in namespace " + named(target.namespace_);
}

// helm's own rule for release names, checked before helm runs so that a
// mistake reads as one (and never reaches helm as a flag).
base::expected<void> check_release_name(std::string_view release) {
  bool ok = !release.empty() && release.size() <= 53;
  for (std::size_t start = 0; ok;) {
    const auto dot = release.find('.', start);
    ok = base::is_dns_label(release.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (ok) return {};
  return base::fail(error_with(es::invalid_settings, "invalid helm release name " + named(release),
                               "a release name has at most 53 characters: lower-case letters, digits, '-' and '.', "
                               "starting and ending with a letter or digit",
                               "choose a name such as 'web' or 'nats-1'"));
}

base::expected<void> check_target(const HelmTarget& target) {
  if (!target.namespace_.empty()) return {};
  return base::fail(base::make_error("no namespace for helm", "HelmTarget::namespace_ is empty",
                                     "build the target with helm_target(), which takes the client's namespace"));
}

}  // namespace

// ---- targets, charts, requests --------------------------------------------------

HelmTarget helm_target(const LoadOptions& load, const ClientConfig& config) {
  HelmTarget target;
  if (!load.explicit_path.empty()) {
    target.kubeconfig = load.explicit_path;
  } else if (load.kubeconfig_env && !load.kubeconfig_env->empty()) {
    target.kubeconfig = *load.kubeconfig_env;
  } else if (!config.in_cluster && !config.files.empty()) {
    target.kubeconfig = config.files.front();
  }
  target.context = config.context;
  target.namespace_ = config.namespace_;
  return target;
}

HelmChartSource source_of(const HelmChart& chart) {
  if (starts_with(chart.chart, "oci://")) return HelmChartSource::oci;
  if (!chart.repository.empty()) return HelmChartSource::repository;
  return HelmChartSource::local;
}

bool helm_version_supported(const base::Version& version) {
  return (version.major == 3 && version >= base::Version{3, 12, 0, {}}) || version.major == 4;
}

base::expected<base::Version> parse_helm_version(std::string_view printed, std::string_view path) {
  std::string_view text = trim(printed);
  if (starts_with(text, "v")) text.remove_prefix(1);
  const auto version = base::Version::parse(text);
  if (!version) {
    return base::fail(error_with(es::unsupported, "cannot tell which version helm " + named(path) + " is",
                                 "'helm version --template {{.Version}}' printed " +
                                     named(trim(printed).substr(0, 200)),
                                 std::string(install_hint)));
  }
  if (helm_version_supported(*version)) return *version;
  const bool old = *version < base::Version{3, 12, 0, {}};
  return base::fail(error_with(es::unsupported,
                               "helm " + version->str() + (old ? " is too old for harmony" : " is newer than harmony knows"),
                               named(path) + " is helm " + version->str() + "; harmony works with helm 3.12 or newer, and 4.x",
                               std::string(install_hint)));
}

base::expected<void> check_request(const HelmTarget& target, const HelmReleaseRequest& request) {
  if (auto ok = check_target(target); !ok) return ok;
  if (auto ok = check_release_name(request.release); !ok) return ok;
  if (request.timeout.count() <= 0) {
    return base::fail(base::make_error("no time for helm", "the request's timeout is " +
                                                               std::to_string(request.timeout.count()) + "ms"));
  }
  const HelmChart& chart = request.chart;
  const std::string for_release = " for release " + named(request.release);
  if (chart.chart.empty()) {
    return base::fail(error_with(es::invalid_settings, "no chart" + for_release, {},
                                 "name a chart directory or archive, a chart in a repository, or an oci:// reference"));
  }
  switch (source_of(chart)) {
    case HelmChartSource::oci:
      if (!chart.repository.empty()) {
        return base::fail(error_with(es::invalid_settings, "the OCI chart " + named(chart.chart) + " takes no repository",
                                     "repository is " + named(chart.repository), "leave repository empty for oci:// charts"));
      }
      break;
    case HelmChartSource::repository:
      if (!starts_with(chart.repository, "https://") && !starts_with(chart.repository, "http://")) {
        return base::fail(error_with(es::invalid_settings, "invalid chart repository " + named(chart.repository),
                                     "a chart repository is an http:// or https:// URL",
                                     "for a chart in an OCI registry, give chart = oci://REGISTRY/PATH/NAME"));
      }
      if (chart.chart.find('/') != std::string::npos) {
        return base::fail(error_with(es::invalid_settings, "invalid chart name " + named(chart.chart) + for_release,
                                     "with a repository, the chart is named by its name alone",
                                     "for example: chart 'nats', repository 'https://nats-io.github.io/k8s/helm/charts/'"));
      }
      break;
    case HelmChartSource::local: {
      if (!chart.version.empty()) {
        return base::fail(error_with(es::invalid_settings, "a local chart has no version to choose" + for_release,
                                     named(chart.chart) + " is a path, and version is " + named(chart.version),
                                     "leave version empty, or give the repository the chart comes from"));
      }
      struct stat st {};
      if (::stat(chart.chart.c_str(), &st) != 0) {
        return base::fail(error_with(
            es::object_not_found, "no chart at " + named(chart.chart) + for_release,
            "no such file or directory",
            "give the path of a chart directory or .tgz archive; a chart from a repository needs its repository URL, "
            "one from a registry an oci:// reference (names from 'helm repo add' are not used)"));
      }
      break;
    }
  }
  if (request.values.empty()) return {};
  // Checked here so that a mistake is reported without running helm, and
  // without the document: yaml-cpp's messages name the place, not the text.
  try {
    const auto documents = YAML::LoadAll(request.values);
    const bool one_map = documents.size() == 1 && (documents.front().IsMap() || documents.front().IsNull());
    if (!one_map && !documents.empty()) {
      return base::fail(error_with(es::invalid_settings, "the values" + for_release + " are not a map",
                                   "they must be one YAML (or JSON) document that maps names to values",
                                   "for example: {\"replicaCount\": 2}"));
    }
  } catch (const YAML::Exception& e) {
    return base::fail(error_with(es::invalid_settings, "the values" + for_release + " are not valid YAML",
                                 yaml_problem(e),
                                 "fix the values document"));
  }
  return {};
}

std::vector<std::string> helm_arguments(HelmOperation operation, const base::Version& helm, const HelmTarget& target,
                                        const HelmReleaseRequest& request, std::string_view values_file) {
  std::vector<std::string> args;
  if (operation == HelmOperation::upgrade_install) {
    args = {"upgrade", "--install"};
    auto to = target_arguments(target);
    args.insert(args.end(), to.begin(), to.end());
    args.push_back("--reset-values");
    if (request.create_namespace) args.push_back("--create-namespace");
    args.insert(args.end(), {"--timeout", duration_flag(request.timeout)});
    // --dry-run became a choice (client, server) in helm 3.13.
    if (request.dry_run) args.push_back(helm >= base::Version{3, 13, 0, {}} ? "--dry-run=server" : "--dry-run");
    args.insert(args.end(), {"--output", "json"});
  } else {
    // Rendering needs no cluster: only the namespace matters.
    args = {"template", "--namespace", target.namespace_, "--no-hooks"};
  }
  if (!request.chart.repository.empty()) args.insert(args.end(), {"--repo", request.chart.repository});
  if (!request.chart.version.empty()) args.insert(args.end(), {"--version", request.chart.version});
  if (request.chart.plain_http && source_of(request.chart) == HelmChartSource::oci) args.push_back("--plain-http");
  if (!values_file.empty()) args.insert(args.end(), {"--values", std::string(values_file)});
  // After "--" nothing is read as a flag, whatever the chart's path looks like.
  args.insert(args.end(), {"--", request.release, request.chart.chart});
  return args;
}

// ---- manifests and JSON -----------------------------------------------------------

base::expected<std::vector<Object>> parse_manifest(std::string_view yaml, std::string_view namespace_) {
  std::vector<YAML::Node> documents;
  try {
    documents = YAML::LoadAll(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return base::fail(base::make_error("cannot read the manifest", yaml_problem(e)));
  }
  std::vector<Object> objects;
  YamlToJson converter;
  auto add = [&](json doc) {
    if (doc.contains("metadata") && doc["metadata"].is_object() && !namespace_.empty() &&
        string_member(doc["metadata"], "namespace").empty() &&
        !cluster_scoped(string_member(doc, "apiVersion"), string_member(doc, "kind"))) {
      doc["metadata"]["namespace"] = std::string(namespace_);
    }
    objects.push_back(object_from(std::move(doc)));
  };
  for (std::size_t i = 0; i < documents.size(); ++i) {
    const YAML::Node& document = documents[i];
    if (document.IsNull()) continue;  // only comments, or nothing between two ---
    if (!document.IsMap()) {
      return base::fail(base::make_error("cannot read the manifest", "document " + std::to_string(i + 1) +
                                                                         " is not an object (line " +
                                                                         std::to_string(document.Mark().line + 1) + ")"));
    }
    auto doc = converter.convert(document);
    if (!doc) return base::fail(doc.error());
    const std::string kind = string_member(*doc, "kind");
    if (kind.ends_with("List") && doc->contains("items") && (*doc)["items"].is_array()) {
      for (json& item : (*doc)["items"]) {
        if (item.is_object()) add(std::move(item));
      }
      continue;
    }
    add(std::move(*doc));
  }
  return objects;
}

namespace {

std::string text_at(const json& doc, const char* pointer) {
  const json::json_pointer p(pointer);
  return doc.contains(p) && doc.at(p).is_string() ? doc.at(p).get<std::string>() : std::string();
}

int revision_at(const json& doc, const char* key) {
  if (!doc.contains(key)) return 0;
  const json& v = doc[key];
  if (v.is_number_integer()) return v.get<int>();
  // helm list spells it as a string.
  int out = 0;
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    std::from_chars(s.data(), s.data() + s.size(), out);
  }
  return out;
}

base::expected<json> parse_json(std::string_view text, std::string_view what) {
  // Anything helm printed before its JSON (a notice on older versions) is not ours.
  const auto start = text.find_first_of("[{");
  json doc = start == std::string_view::npos ? json() : json::parse(text.substr(start), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || doc.is_null()) {
    return base::fail(base::make_error("cannot read " + std::string(what), "helm's output is not JSON: " +
                                                                               named(trim(text).substr(0, 200))));
  }
  return doc;
}

}  // namespace

base::expected<HelmReleaseInfo> parse_history(std::string_view text, std::string_view release, std::string_view namespace_) {
  auto doc = parse_json(text, "the release's history");
  if (!doc) return base::fail(doc.error());
  if (!doc->is_array() || doc->empty() || !doc->back().is_object()) {
    return base::fail(base::make_error("cannot read the release's history", "helm printed no revision"));
  }
  const json& last = doc->back();
  HelmReleaseInfo info;
  info.name = std::string(release);
  info.namespace_ = std::string(namespace_);
  info.revision = revision_at(last, "revision");
  info.status = text_at(last, "/status");
  info.chart = text_at(last, "/chart");
  info.app_version = text_at(last, "/app_version");
  info.updated = text_at(last, "/updated");
  info.description = text_at(last, "/description");
  return info;
}

base::expected<HelmRelease> parse_release(std::string_view text) {
  auto doc = parse_json(text, "the release helm installed");
  if (!doc) return base::fail(doc.error());
  if (!doc->is_object() || !doc->contains("name")) {
    return base::fail(base::make_error("cannot read the release helm installed", "helm's JSON is not a release"));
  }
  HelmRelease out;
  HelmReleaseInfo& info = out.info;
  info.name = text_at(*doc, "/name");
  info.namespace_ = text_at(*doc, "/namespace");
  info.revision = revision_at(*doc, "version");
  info.status = text_at(*doc, "/info/status");
  info.updated = text_at(*doc, "/info/last_deployed");
  info.description = text_at(*doc, "/info/description");
  info.chart = text_at(*doc, "/chart/metadata/name") + "-" + text_at(*doc, "/chart/metadata/version");
  info.app_version = text_at(*doc, "/chart/metadata/appVersion");
  auto objects = parse_manifest(text_at(*doc, "/manifest"), info.namespace_);
  if (!objects) return base::fail(objects.error());
  out.objects = std::move(*objects);
  return out;
}

base::expected<std::string> gunzip(std::string_view data, std::size_t limit) {
  auto bad = [](std::string why) { return base::fail(base::make_error("cannot read gzip data", std::move(why))); };
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  std::size_t at = 10;
  if (data.size() < 18 || in[0] != 0x1f || in[1] != 0x8b || in[2] != 8) return bad("not gzip (RFC 1952) with deflate");
  const unsigned flags = in[3];
  if (flags & 4u) {  // FEXTRA
    if (at + 2 > data.size()) return bad("truncated header");
    at += 2 + (in[at] | (static_cast<std::size_t>(in[at + 1]) << 8));
  }
  for (unsigned field : {8u, 16u})  // FNAME, FCOMMENT: zero-terminated
    if (flags & field) {
      while (at < data.size() && in[at] != 0) ++at;
      ++at;
    }
  if (flags & 2u) at += 2;  // FHCRC
  if (at >= data.size()) return bad("truncated header");

  // Beast's inflater is raw deflate, which is what a gzip member holds.
  boost::beast::zlib::inflate_stream inflater;
  boost::beast::zlib::z_params z;
  z.next_in = in + at;
  z.avail_in = data.size() - at;
  std::string out;
  for (;;) {
    const std::size_t had = out.size();
    out.resize(had + 64 * 1024);
    z.next_out = out.data() + had;
    z.avail_out = out.size() - had;
    boost::system::error_code ec;
    inflater.write(z, boost::beast::zlib::Flush::sync, ec);
    out.resize(out.size() - z.avail_out);
    if (out.size() > limit) return bad("it inflates to more than " + std::to_string(limit) + " bytes");
    if (ec == boost::beast::zlib::error::end_of_stream) return out;
    if (ec && ec != boost::beast::zlib::error::need_buffers) return bad(ec.message());
    if (z.avail_in == 0 && z.avail_out != 0) return bad("truncated data");
  }
}

base::expected<std::optional<HelmRelease>> parse_stored_release(const std::vector<Object>& secrets) {
  const Object* latest = nullptr;
  long latest_version = 0;
  for (const auto& s : secrets) {
    if (s.string_at("/metadata/labels/owner").value_or("") != "helm") continue;
    const std::string label = s.string_at("/metadata/labels/version").value_or("");
    long version = 0;
    auto [end, err] = std::from_chars(label.data(), label.data() + label.size(), version);
    if (err != std::errc() || end != label.data() + label.size() || version <= 0) continue;
    if (version > latest_version) {
      latest = &s;
      latest_version = version;
    }
  }
  if (latest == nullptr) return std::optional<HelmRelease>();
  const std::string what = "helm's record of the release (Secret " + latest->name() + ")";
  // Secret data is base64; helm's value inside is base64 of gzip of JSON.
  auto stored = base::base64_decode(latest->string_at("/data/release").value_or(""));
  auto encoded = stored ? base::base64_decode(*stored) : std::nullopt;
  if (!encoded) return base::fail(base::make_error("cannot read " + what, "its data is not base64"));
  std::string json = *encoded;
  if (json.size() > 2 && static_cast<unsigned char>(json[0]) == 0x1f && static_cast<unsigned char>(json[1]) == 0x8b) {
    auto inflated = gunzip(json, 256u << 20);
    if (!inflated) return base::fail(base::make_error("cannot read " + what, inflated.error().reason));
    json = std::move(*inflated);
  }
  auto release = parse_release(json);
  if (!release) return base::fail(release.error());
  if (release->info.namespace_.empty()) release->info.namespace_ = latest->namespace_();
  return std::optional<HelmRelease>(std::move(*release));
}

base::Error helm_failure(std::string_view doing, std::string_view helm_stderr, std::string_view release,
                         std::string_view namespace_) {
  base::Error e = base::make_error("helm could not " + std::string(doing), helm_words(helm_stderr));
  const std::string said = lowercase(e.reason);
  for (const FailureRule& rule : failure_rules()) {
    if (std::none_of(rule.patterns.begin(), rule.patterns.end(), [&](std::string_view p) { return matches(said, p); })) {
      continue;
    }
    e.status = rule.status;
    e.hint = fill(rule.hint, release, namespace_);
    return e;
  }
  e.hint = "helm's own words are above; the same helm command with --debug says more";
  return e;
}

// ---- Helm ----------------------------------------------------------------------

base::expected<Helm> Helm::find(std::string_view binary) {
  std::string wanted(binary);
  std::string named_by = "the program";
  if (const char* env = std::getenv("HARMONY_HELM"); wanted.empty() && env != nullptr && *env != '\0') {
    wanted = env;
    named_by = "HARMONY_HELM";
  }
  if (wanted.empty()) wanted = "helm";
  std::string path;
  if (wanted.find('/') != std::string::npos) {
    if (::access(wanted.c_str(), X_OK) != 0) {
      return base::fail(error_with(es::unsupported, "helm is not installed at " + named(wanted),
                                   named_by + " " + named(wanted) + " does not exist or is not executable",
                                   std::string(install_hint)));
    }
    path = wanted;
  } else {
    const char* search = std::getenv("PATH");
    auto found = base::find_program(wanted, search == nullptr ? "" : search);
    if (!found) {
      return base::fail(error_with(es::unsupported, "helm is not installed",
                                   "there is no " + named(wanted) + " in PATH", std::string(install_hint)));
    }
    path = *found;
  }

  // What `helm version` said about this very file (path, inode, size and
  // change time), kept in the cache: every deploy need not start helm once
  // more just to ask.
  std::string remembered;
  if (struct stat st{}; ::stat(path.c_str(), &st) == 0)
    if (auto cache = base::xdg_home(base::XdgDir::cache))
      remembered = *cache + "/harmony/helm/version-" +
                   base::fingerprint(path + "\n" + std::to_string(st.st_ino) + "\n" + std::to_string(st.st_size) + "\n" +
                                     std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "\n" +
                                     std::to_string(st.st_ctim.tv_sec) + "." + std::to_string(st.st_ctim.tv_nsec));
  if (!remembered.empty())
    if (auto text = base::read_file(remembered, 256))
      if (auto version = parse_helm_version(*text, path)) return Helm(path, *version);

  base::ProcessSpec spec;
  spec.argv = {path, "version", "--template", "{{.Version}}"};
  spec.timeout = std::chrono::seconds(30);
  auto result = base::run_process(spec);
  if (!result) {
    base::Error e = result.error();
    e.status = es::unsupported;
    e.message = "cannot run helm " + named(path);
    e.hint = std::string(install_hint);
    return base::fail(std::move(e));
  }
  if (!result->ok()) {
    return base::fail(error_with(es::unsupported, "cannot tell which version helm " + named(path) + " is",
                                 "'helm version' " + result->describe() + ": " + helm_words(result->err),
                                 std::string(install_hint)));
  }
  auto version = parse_helm_version(result->out, path);
  if (!version) return base::fail(version.error());
  if (!remembered.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(base::parent_dir(remembered), ec);
    (void)base::write_file_atomically(remembered, result->out, 0644, false);  // a cache: best effort
  }
  return Helm(path, *version);
}

base::expected<HelmRelease> Helm::upgrade_install(const HelmTarget& target, const HelmReleaseRequest& request) const {
  if (auto ok = check_request(target, request); !ok) return base::fail(ok.error());
  auto values = ValuesFile::write(request.values);
  if (!values) return base::fail(values.error());
  Call call;
  call.args = helm_arguments(HelmOperation::upgrade_install, version_, target, request, values->path());
  call.timeout = request.timeout;
  call.doing = release_doing(request.dry_run ? "dry-run the install or upgrade of" : "install or upgrade", request.release, target);
  call.release = request.release;
  call.namespace_ = target.namespace_;
  call.values_file = values->path();
  auto out = run_helm(path_, target, call);
  if (!out) return base::fail(out.error());
  return parse_release(**out);
}

base::expected<std::vector<Object>> Helm::render(const HelmTarget& target, const HelmReleaseRequest& request) const {
  if (auto ok = check_request(target, request); !ok) return base::fail(ok.error());
  auto values = ValuesFile::write(request.values);
  if (!values) return base::fail(values.error());
  Call call;
  call.args = helm_arguments(HelmOperation::render, version_, target, request, values->path());
  call.timeout = request.timeout;
  call.doing = "render chart " + named(request.chart.chart) + " for release " + named(request.release);
  call.release = request.release;
  call.namespace_ = target.namespace_;
  call.values_file = values->path();
  auto out = run_helm(path_, target, call);
  if (!out) return base::fail(out.error());
  return parse_manifest(**out, target.namespace_);
}

namespace {

// A call about an existing release: `words` are helm's subcommand and flags.
base::expected<Call> release_call(const HelmTarget& target, std::string_view release, std::string_view verb,
                                  std::vector<std::string> words) {
  if (auto ok = check_target(target); !ok) return base::fail(ok.error());
  if (auto ok = check_release_name(release); !ok) return base::fail(ok.error());
  Call call;
  call.args = std::move(words);
  auto to = target_arguments(target);
  call.args.insert(call.args.end(), to.begin(), to.end());
  call.args.insert(call.args.end(), {"--", std::string(release)});
  call.doing = release_doing(verb, release, target);
  call.release = std::string(release);
  call.namespace_ = target.namespace_;
  return call;
}

}  // namespace

base::expected<std::vector<Object>> Helm::manifest(const HelmTarget& target, std::string_view release) const {
  auto call = release_call(target, release, "read the manifest of", {"get", "manifest"});
  if (!call) return base::fail(call.error());
  auto out = run_helm(path_, target, *call);
  if (!out) return base::fail(out.error());
  return parse_manifest(**out, target.namespace_);
}

base::expected<std::optional<HelmReleaseInfo>> Helm::status(const HelmTarget& target, std::string_view release) const {
  // `helm history` rather than `helm status`: the same JSON on helm 3 and 4
  // (helm 4's status has no chart), and lean (status carries the manifest).
  auto call = release_call(target, release, "read the history of", {"history", "--max", "1", "--output", "json"});
  if (!call) return base::fail(call.error());
  call->missing_release_is_empty = true;
  auto out = run_helm(path_, target, *call);
  if (!out) return base::fail(out.error());
  if (!*out) return std::optional<HelmReleaseInfo>();
  auto info = parse_history(**out, release, target.namespace_);
  if (!info) return base::fail(info.error());
  return std::optional<HelmReleaseInfo>(std::move(*info));
}

base::expected<std::optional<HelmRelease>> Helm::current(const HelmTarget& target, std::string_view release) const {
  auto call = release_call(target, release, "read the status of", {"status", "--output", "json"});
  if (!call) return base::fail(call.error());
  call->missing_release_is_empty = true;
  auto out = run_helm(path_, target, *call);
  if (!out) return base::fail(out.error());
  if (!*out) return std::optional<HelmRelease>();
  auto parsed = parse_release(**out);
  if (!parsed) return base::fail(parsed.error());
  if (parsed->info.namespace_.empty()) parsed->info.namespace_ = target.namespace_;
  return std::optional<HelmRelease>(std::move(*parsed));
}

base::expected<std::string> Helm::values(const HelmTarget& target, std::string_view release) const {
  auto call = release_call(target, release, "read the values of", {"get", "values", "--output", "json"});
  if (!call) return base::fail(call.error());
  auto out = run_helm(path_, target, *call);
  if (!out) return base::fail(out.error());
  const std::string_view values = trim(**out);
  // A release installed without values has `null`.
  return values.empty() || values == "null" ? std::string("{}") : std::string(values);
}

base::expected<void> Helm::uninstall(const HelmTarget& target, std::string_view release, milliseconds timeout) const {
  auto call = release_call(target, release, "uninstall", {"uninstall", "--wait", "--timeout", duration_flag(timeout)});
  if (!call) return base::fail(call.error());
  call->timeout = timeout;
  call->missing_release_is_empty = true;
  auto out = run_helm(path_, target, *call);
  if (!out) return base::fail(out.error());
  return {};
}

}  // namespace harmony::kube
