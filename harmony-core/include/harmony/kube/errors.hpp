#pragma once
// The API server's answers turned into harmony's errors.
//
// A failed request answers with a `Status` object (kind Status, reason,
// message, details.causes). Each reason a caller acts on becomes a distinct
// exit status (base/exit_status.hpp, docs/exit-codes.md): a caller tests
// `error.status == exit_status::object_not_found`, never the text. The
// message says what was refused, the reason what the server said, and the
// hint what to try, with the request's verb, resource, namespace and the
// identity it ran as.

#include <optional>
#include <string>
#include <vector>

#include <harmony/base/error.hpp>

namespace harmony::kube {

enum class ApiReason {
  not_found,          // 404 NotFound
  already_exists,     // 409 AlreadyExists
  conflict,           // 409 Conflict (SSA field conflicts, resourceVersion mismatch)
  forbidden,          // 403 Forbidden (RBAC, or a terminating namespace)
  unauthorized,       // 401 Unauthorized
  invalid,            // 422 Invalid
  bad_request,        // 400 BadRequest
  gone,               // 410 Expired/Gone: a watch's resourceVersion is too old
  too_many_requests,  // 429 TooManyRequests
  server_timeout,     // 504 / ServerTimeout / Timeout
  unavailable,        // 503 ServiceUnavailable
  internal,           // 500 InternalError and other 5xx
  method_not_allowed, // 405
  unsupported_media,  // 415
  other,
};

struct FieldCause {
  std::string type;     // FieldValueInvalid, FieldManagerConflict, ...
  std::string message;
  std::string field;
};

// What a failed request returned, parsed.
struct ApiFailure {
  ApiReason reason = ApiReason::other;
  int http_status = 0;
  std::string message;       // Status.message
  std::string status_reason; // Status.reason, as the server spelled it
  std::string kind;          // details.kind
  std::string name;          // details.name
  std::vector<FieldCause> causes;
  std::optional<int> retry_after_seconds;
};

// What was being done, for the error's wording.
struct RequestInfo {
  std::string verb;        // get, list, watch, create, patch (apply), delete
  std::string resource;    // deployments.apps
  std::string namespace_;  // empty: cluster-scoped
  std::string name;
  std::string identity;    // "user 'alice' (context 'dev')"
};

// Parses the body of a failed response (a Status, or anything else, e.g. a
// proxy's HTML) with its HTTP status and Retry-After header.
ApiFailure parse_failure(int http_status, const std::string& body, const std::string& retry_after = {});

// The error a user sees and a caller tests.
base::Error to_error(const ApiFailure& failure, const RequestInfo& request);

// The exit status for a reason.
int exit_status_of(ApiReason reason);

}  // namespace harmony::kube
