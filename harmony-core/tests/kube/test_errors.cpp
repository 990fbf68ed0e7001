#include <catch2/catch.hpp>

#include <harmony/base/exit_status.hpp>
#include <harmony/kube/errors.hpp>

using namespace harmony::kube;
namespace es = harmony::base::exit_status;

// Bodies as kube-apiserver 1.35 sends them.
TEST_CASE("errors: a server-side apply conflict names the other manager and the fields, and hints --force-conflicts") {
  const std::string body = R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",
    "message":"Apply failed with 1 conflict: conflict with \"kubectl-edit\" using apps/v1: .spec.replicas",
    "reason":"Conflict","details":{"name":"web","group":"apps","kind":"deployments",
    "causes":[{"reason":"FieldManagerConflict","message":"conflict with \"kubectl-edit\" using apps/v1","field":".spec.replicas"}]},
    "code":409})";
  auto f = parse_failure(409, body);
  CHECK(f.reason == ApiReason::conflict);
  auto e = to_error(f, {"apply", "deployments.apps", "shop", "web", ""});
  CHECK(e.status == es::conflict);
  CHECK_THAT(e.reason, Catch::Contains(".spec.replicas") && Catch::Contains("kubectl-edit"));
  CHECK_THAT(e.hint, Catch::Contains("--force-conflicts"));
}

TEST_CASE("errors: forbidden says which verb, resource, namespace and identity RBAC refused") {
  const std::string body = R"({"kind":"Status","apiVersion":"v1","status":"Failure",
    "message":"secrets is forbidden: User \"viewer\" cannot create resource \"secrets\" in API group \"\" in the namespace \"fleet\"",
    "reason":"Forbidden","details":{"kind":"secrets"},"code":403})";
  auto e = to_error(parse_failure(403, body), {"create", "secrets", "fleet", "", "user 'viewer' (context 'ro')"});
  CHECK(e.status == es::forbidden);
  CHECK_THAT(e.message, Catch::Contains("create secrets") && Catch::Contains("'fleet'") && Catch::Contains("viewer"));
  CHECK_THAT(e.hint, Catch::Contains("RBAC"));
}

TEST_CASE("errors: invalid lists each field cause") {
  const std::string body = R"({"kind":"Status","status":"Failure","message":"Deployment.apps \"x\" is invalid",
    "reason":"Invalid","details":{"causes":[{"reason":"FieldValueInvalid","message":"Invalid value: -1","field":"spec.replicas"},
    {"reason":"FieldValueRequired","message":"Required value","field":"spec.selector"}]},"code":422})";
  auto e = to_error(parse_failure(422, body), {"apply", "deployments.apps", "ns", "x", ""});
  CHECK(e.status == es::invalid);
  CHECK_THAT(e.reason, Catch::Contains("spec.replicas: Invalid value: -1") && Catch::Contains("spec.selector: Required value"));
}

TEST_CASE("errors: each reason has its own status, falling back on the HTTP status when the body is not a Status") {
  CHECK(to_error(parse_failure(404, R"({"kind":"Status","reason":"NotFound","message":"x"})"), {}).status == es::object_not_found);
  CHECK(to_error(parse_failure(401, "Unauthorized"), {}).status == es::unauthorized);
  CHECK_THAT(to_error(parse_failure(401, "Unauthorized"), {}).hint, Catch::Contains("expired"));
  CHECK(parse_failure(410, R"({"kind":"Status","reason":"Expired","message":"too old resource version"})").reason == ApiReason::gone);
  CHECK(parse_failure(502, "<html>bad gateway</html>").reason == ApiReason::internal);
  CHECK(to_error(parse_failure(409, R"({"kind":"Status","reason":"AlreadyExists"})"), {}).status == es::conflict);
}

TEST_CASE("errors: Retry-After is read from the header or the Status details") {
  CHECK(parse_failure(429, "{}", "3").retry_after_seconds == 3);
  CHECK(parse_failure(429, R"({"kind":"Status","reason":"TooManyRequests","details":{"retryAfterSeconds":2}})").retry_after_seconds == 2);
  CHECK_FALSE(parse_failure(500, "{}").retry_after_seconds);
}

TEST_CASE("errors: a body with terminal escapes is shown without them") {
  auto e = to_error(parse_failure(500, "\x1b]0;owned\x07\x1b[2J"), {});
  CHECK(e.reason.find('\x1b') == std::string::npos);
}

TEST_CASE("errors: creating in a namespace being deleted is not called an RBAC problem") {
  const std::string body = R"({"kind":"Status","status":"Failure","message":"configmaps \"x\" is forbidden: unable to create new content in namespace shop because it is being terminated","reason":"Forbidden","code":403})";
  auto e = to_error(parse_failure(403, body), {"apply", "configmaps", "shop", "x", "user 'admin'"});
  CHECK(e.status == es::forbidden);
  CHECK_THAT(e.message, Catch::Contains("being deleted"));
  CHECK_THAT(e.hint, !Catch::Contains("RBAC"));
}
