#include <harmony/kube/errors.hpp>

#include <charconv>

#include <nlohmann/json.hpp>

#include <harmony/base/exit_status.hpp>
#include <harmony/base/text.hpp>

namespace harmony::kube {
namespace {

using nlohmann::json;
namespace es = base::exit_status;

ApiReason reason_from(const std::string& status_reason, int http_status) {
  // The Status reason is the server's word; the HTTP status is the fallback
  // (aggregated API servers and proxies do not always send a Status).
  if (status_reason == "NotFound") return ApiReason::not_found;
  if (status_reason == "AlreadyExists") return ApiReason::already_exists;
  if (status_reason == "Conflict") return ApiReason::conflict;
  if (status_reason == "Forbidden") return ApiReason::forbidden;
  if (status_reason == "Unauthorized") return ApiReason::unauthorized;
  if (status_reason == "Invalid") return ApiReason::invalid;
  if (status_reason == "BadRequest") return ApiReason::bad_request;
  if (status_reason == "Expired" || status_reason == "Gone") return ApiReason::gone;
  if (status_reason == "TooManyRequests") return ApiReason::too_many_requests;
  if (status_reason == "Timeout" || status_reason == "ServerTimeout") return ApiReason::server_timeout;
  if (status_reason == "ServiceUnavailable") return ApiReason::unavailable;
  if (status_reason == "InternalError") return ApiReason::internal;
  if (status_reason == "MethodNotAllowed") return ApiReason::method_not_allowed;
  if (status_reason == "UnsupportedMediaType") return ApiReason::unsupported_media;
  switch (http_status) {
    case 400: return ApiReason::bad_request;
    case 401: return ApiReason::unauthorized;
    case 403: return ApiReason::forbidden;
    case 404: return ApiReason::not_found;
    case 405: return ApiReason::method_not_allowed;
    case 409: return ApiReason::conflict;
    case 410: return ApiReason::gone;
    case 415: return ApiReason::unsupported_media;
    case 422: return ApiReason::invalid;
    case 429: return ApiReason::too_many_requests;
    case 503: return ApiReason::unavailable;
    case 504: return ApiReason::server_timeout;
    default: return http_status >= 500 ? ApiReason::internal : ApiReason::other;
  }
}

std::string what(const RequestInfo& r) {
  std::string object = r.resource.empty() ? "the request" : r.resource;
  if (!r.name.empty()) object += " '" + r.name + "'";
  if (!r.namespace_.empty()) object += " in namespace '" + r.namespace_ + "'";
  return r.verb.empty() ? object : r.verb + " " + object;
}

std::string as_identity(const RequestInfo& r) { return r.identity.empty() ? std::string() : " as " + r.identity; }

}  // namespace

ApiFailure parse_failure(int http_status, const std::string& body, const std::string& retry_after) {
  ApiFailure f;
  f.http_status = http_status;
  json doc = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_object() && doc.value("kind", "") == "Status") {
    f.message = doc.value("message", "");
    f.status_reason = doc.value("reason", "");
    if (doc.contains("details") && doc["details"].is_object()) {
      const json& d = doc["details"];
      f.kind = d.value("kind", "");
      f.name = d.value("name", "");
      if (d.contains("causes") && d["causes"].is_array()) {
        for (const json& c : d["causes"]) {
          if (!c.is_object()) continue;
          f.causes.push_back({c.value("reason", ""), c.value("message", ""), c.value("field", "")});
        }
      }
      if (d.contains("retryAfterSeconds") && d["retryAfterSeconds"].is_number_integer()) {
        f.retry_after_seconds = d["retryAfterSeconds"].get<int>();
      }
    }
  } else {
    // Not a Status: keep the start of whatever it was, without control bytes.
    f.message = base::printable(body.substr(0, 200));
  }
  int seconds = 0;
  if (!retry_after.empty() &&
      std::from_chars(retry_after.data(), retry_after.data() + retry_after.size(), seconds).ec == std::errc()) {
    f.retry_after_seconds = seconds;
  }
  f.reason = reason_from(f.status_reason, http_status);
  return f;
}

int exit_status_of(ApiReason reason) {
  switch (reason) {
    case ApiReason::not_found: return es::object_not_found;
    case ApiReason::already_exists:
    case ApiReason::conflict: return es::conflict;
    case ApiReason::forbidden: return es::forbidden;
    case ApiReason::unauthorized: return es::unauthorized;
    case ApiReason::invalid:
    case ApiReason::bad_request: return es::invalid;
    case ApiReason::too_many_requests:
    case ApiReason::server_timeout: return es::timed_out;
    case ApiReason::unavailable: return es::unreachable;
    default: return es::remote_error;
  }
}

base::Error to_error(const ApiFailure& f, const RequestInfo& r) {
  base::Error e;
  e.status = exit_status_of(f.reason);
  const std::string server_said = base::printable(f.message);
  e.reason = server_said.empty() ? "the API server answered HTTP " + std::to_string(f.http_status) : server_said;
  switch (f.reason) {
    case ApiReason::not_found:
      e.message = what(r) + ": not found";
      e.hint = r.namespace_.empty() ? "check the name" : "check the name and the namespace (-n)";
      if (f.kind.empty() && r.name.empty()) e.hint = "the resource type is not served here: is its CRD installed?";
      break;
    case ApiReason::already_exists:
      e.message = what(r) + ": it already exists";
      e.hint = "it was created by someone else; delete it first or adopt it";
      break;
    case ApiReason::conflict: {
      std::vector<std::string> fields;
      for (const auto& c : f.causes) {
        if (c.type == "FieldManagerConflict") fields.push_back(base::printable(c.field) + " (" + base::printable(c.message) + ")");
      }
      if (!fields.empty()) {
        e.message = what(r) + ": fields are managed by someone else";
        e.reason = base::join(fields, "; ");
        e.hint = "run again with --force-conflicts to take these fields over, or leave them out of the settings";
      } else {
        e.message = what(r) + ": the object changed while harmony was updating it";
        e.hint = "run the command again";
      }
      break;
    }
    case ApiReason::forbidden:
      // The server forbids creating anything in a namespace being deleted;
      // that is not a question of RBAC.
      if (f.message.find("because it is being terminated") != std::string::npos) {
        e.message = "cannot " + what(r) + ": the namespace is being deleted";
        e.hint = "wait until it is gone and deploy again, or deploy to another namespace (-n)";
        break;
      }
      e.message = "the cluster forbids harmony to " + what(r) + as_identity(r);
      e.hint = "ask a cluster admin for RBAC permission to " + (r.verb.empty() ? std::string("do this") : r.verb) + " " +
               (r.resource.empty() ? std::string("this resource") : r.resource) +
               (r.namespace_.empty() ? std::string() : " in namespace '" + r.namespace_ + "'") +
               ", or use another context (--context)";
      break;
    case ApiReason::unauthorized:
      e.message = "the cluster refused the credentials" + as_identity(r);
      e.hint = "have the credentials expired? Log in again, or check the user in your kubeconfig";
      break;
    case ApiReason::invalid:
    case ApiReason::bad_request: {
      e.message = "the cluster refused " + what(r) + " as invalid";
      std::vector<std::string> lines;
      for (const auto& c : f.causes) {
        lines.push_back((c.field.empty() ? std::string() : base::printable(c.field) + ": ") + base::printable(c.message));
      }
      if (!lines.empty()) e.reason = base::join(lines, "; ");
      e.hint = "fix the settings that produce these fields";
      break;
    }
    case ApiReason::gone:
      e.message = what(r) + ": the server no longer has that version";
      e.hint = "run the command again";
      break;
    case ApiReason::too_many_requests:
    case ApiReason::server_timeout:
    case ApiReason::unavailable:
      e.message = "the API server did not complete " + what(r) + " in time";
      e.hint = "the cluster is busy or unwell; try again later, or check it with 'kubectl get --raw /readyz'";
      break;
    default:
      e.message = "the API server failed to " + what(r);
      e.hint = "check the API server's health with 'kubectl get --raw /readyz'";
      break;
  }
  return e;
}

}  // namespace harmony::kube
