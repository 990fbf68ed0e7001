// The fleet's contract: names and keys, the KV values' codec, what the
// decoder refuses, label selection, revisions and rollout arithmetic.

#include <catch2/catch.hpp>

#include <harmony/fleet/contract.hpp>
#include <harmony/fleet/contract_json.hpp>

using namespace harmony::fleet::contract;

namespace {

DesiredState sample() {
  DesiredState d;
  d.namespace_ = "shop";
  d.name = "web";
  d.generation = 3;
  d.workload.process = ProcessSpec{"/usr/bin/sleep", {"60"}, {{"MODE", "edge"}}};
  d.workload.restart_policy = RestartPolicy::on_failure;
  d.revision = revision_of(d.workload);
  return d;
}

std::string error_of(std::string_view text) {
  auto decoded = decode_desired_state(text);
  REQUIRE_FALSE(decoded);
  return decoded.error().message;
}

}  // namespace

TEST_CASE("deployment names are single KV tokens of at most 253 bytes") {
  CHECK(valid_deployment_name("web"));
  CHECK(valid_deployment_name("web-2"));
  CHECK(valid_deployment_name(std::string(253, 'a')));
  CHECK_FALSE(valid_deployment_name(std::string(254, 'a')));
  for (const char* bad : {"", "web.v2", "we*b", "web>", "Web", "-web", "web-", "we b", "web\n"}) {
    INFO(bad);
    CHECK_FALSE(valid_deployment_name(bad));
  }
  auto refused = validate_deployment_name("web.v2");
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().message, Catch::Contains("web.v2"));
  CHECK_THAT(refused.error().hint, Catch::Contains("no '.'"));
}

TEST_CASE("keys are device, namespace and name, and parse back only when each part is valid") {
  const Key key{"edge-1", "shop", "web"};
  CHECK(key_string(key) == "edge-1.shop.web");
  CHECK(parse_key("edge-1.shop.web") == key);
  CHECK_FALSE(parse_key("edge-1.shop"));
  CHECK_FALSE(parse_key("edge-1.shop.web.v2"));
  CHECK_FALSE(parse_key("Edge.shop.web"));
  CHECK(key_subject(desired_bucket, "edge-1.>") == "$KV.desired-state.edge-1.>");
  CHECK(bucket_stream(reported_bucket) == "KV_device-state");
}

TEST_CASE("desired state survives a round trip through its JSON") {
  const auto d = sample();
  auto back = decode_desired_state(encode(d));
  REQUIRE(back);
  CHECK(*back == d);
  // The workload keeps the FleetDeployment's field names.
  CHECK_THAT(encode(d), Catch::Contains(R"("restartPolicy":"OnFailure")"));
}

TEST_CASE("the decoder refuses bad desired state and names the field at fault") {
  CHECK_THAT(error_of("nope"), Catch::Contains("not JSON"));
  CHECK_THAT(error_of("[]"), Catch::Contains("must be an object"));
  CHECK_THAT(error_of(R"({"namespace":"shop","name":"web","revision":"1"})"), Catch::Contains("workload: is required"));
  CHECK_THAT(error_of(R"({"namespace":"shop","name":"web","revision":"1","workload":{}})"),
             Catch::Contains("exactly one of process and container"));
  CHECK_THAT(error_of(R"({"namespace":"shop","name":"web","revision":"1","workload":{"process":{"command":"sleep"}}})"),
             Catch::Contains("workload.process.command"));
  CHECK_THAT(error_of(R"({"namespace":"shop","name":"web","revision":"1",
                          "workload":{"process":{"command":"/bin/true"},"restartPolicy":"Sometimes"}})"),
             Catch::Contains("workload.restartPolicy: must be one of Always, OnFailure, Never"));
  CHECK_THAT(error_of(R"({"namespace":"shop","name":"web","revision":"1",
                          "workload":{"process":{"command":"/bin/true","env":{"A=B":"c"}}}})"),
             Catch::Contains("workload.process.env"));
  CHECK_THAT(error_of(R"({"namespace":"shop","name":"web","revision":"1",
                          "workload":{"process":{"command":"/bin/true","args":[1]}}})"),
             Catch::Contains("workload.process.args[0]: must be a string"));
  CHECK_THAT(error_of(R"({"namespace":"shop","name":"web.v2","revision":"1",
                          "workload":{"process":{"command":"/bin/true"}}})"),
             Catch::Contains("not a deployment name"));
}

TEST_CASE("reported state round-trips and refuses a bad device id or phase") {
  ReportedState r{"edge-1", "shop", "web", "abc", WorkloadPhase::failed, "exited with status 3", 2, "2026-12-01T10:00:00Z"};
  auto back = decode_reported_state(encode(r));
  REQUIRE(back);
  CHECK(*back == r);
  CHECK_FALSE(decode_reported_state(R"({"device":"Edge_1","namespace":"a","name":"b","revision":"r","phase":"Running"})"));
  CHECK_FALSE(decode_reported_state(R"({"device":"edge-1","namespace":"a","name":"b","revision":"r","phase":"Sleeping"})"));
}

TEST_CASE("a revision changes with any field of the workload and only then") {
  auto a = sample().workload;
  auto b = a;
  CHECK(revision_of(a) == revision_of(b));
  b.process->args.push_back("--verbose");
  CHECK(revision_of(a) != revision_of(b));
  b = a;
  b.restart_policy = RestartPolicy::never;
  CHECK(revision_of(a) != revision_of(b));
  CHECK(revision_of(a).size() == 16);
}

TEST_CASE("a selector matches devices whose labels include all of its own") {
  LabelSelector s{{{"site", "lyon"}}};
  CHECK(s.matches({{"site", "lyon"}, {"rack", "3"}}));
  CHECK_FALSE(s.matches({{"site", "paris"}}));
  CHECK_FALSE(s.matches({}));
  CHECK(LabelSelector{}.matches({}));
}

TEST_CASE("maxUnavailable resolves like Kubernetes' but never to 0") {
  CHECK(IntOrPercent{std::string("25%")}.resolve(10) == 2);
  CHECK(IntOrPercent{std::string("25%")}.resolve(2) == 1);
  CHECK(IntOrPercent{std::string("100%")}.resolve(1000) == 1000);
  CHECK(IntOrPercent{std::int64_t{3}}.resolve(10) == 3);
  CHECK(IntOrPercent{std::int64_t{0}}.resolve(10) == 1);
  CHECK_FALSE(valid_int_or_percent(IntOrPercent{std::string("150%")}));
  CHECK_FALSE(valid_int_or_percent(IntOrPercent{std::string("x%")}));
  CHECK_FALSE(valid_int_or_percent(IntOrPercent{std::int64_t{-1}}));
}

TEST_CASE("label keys and values are checked as Kubernetes checks them") {
  CHECK(valid_label_key("site"));
  CHECK(valid_label_key("fleet.harmony.dev/site"));
  CHECK_FALSE(valid_label_key("bad key"));
  CHECK_FALSE(valid_label_key(std::string(64, 'a')));
  CHECK(valid_label_value(""));
  CHECK(valid_label_value("lyon-3"));
  CHECK_FALSE(valid_label_value("lyon 3"));
}
