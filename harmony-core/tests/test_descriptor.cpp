#include <catch2/catch.hpp>

#include <harmony/plugin/descriptor.hpp>

using namespace harmony::plugin;

namespace {
const char* full = R"({
  "protocol": "1.0",
  "name": "fleet",
  "version": "0.1.0",
  "description": "Deploys the fleet stack",
  "sdk_version": "0.1.0",
  "requires_harmony": "0.1.0",
  "verbs": ["deploy", "status"],
  "components": ["nats", "agent"],
  "topologies": ["local", "k3d"],
  "default_topology": "local",
  "completion": true,
  "future_field": {"ignored": true}
})";
}

TEST_CASE("a complete descriptor parses, and unknown fields are ignored") {
  auto d = parse_descriptor(full);
  REQUIRE(d);
  CHECK(d->name == "fleet");
  CHECK(d->version == "0.1.0");
  CHECK(d->description == "Deploys the fleet stack");
  CHECK(d->offers_verb("deploy"));
  CHECK_FALSE(d->offers_verb("plan"));
  CHECK(d->components == std::vector<std::string>{"nats", "agent"});
  CHECK(d->topologies == std::vector<std::string>{"local", "k3d"});
  CHECK(d->default_topology == "local");
  CHECK(d->completion);
  CHECK(check_compatibility(*d, "0.1.0").ok);
}

TEST_CASE("a descriptor survives a round trip through the writer") {
  auto d = parse_descriptor(full);
  REQUIRE(d);
  auto again = parse_descriptor(descriptor_to_json(*d));
  REQUIRE(again);
  CHECK(descriptor_to_json(*again) == descriptor_to_json(*d));
}

TEST_CASE("broken descriptors name the field that is wrong") {
  struct Case {
    const char* json;
    const char* expected;
  } cases[] = {
      {"{", "not valid JSON"},
      {"[]", "must be a JSON object"},
      {R"({"name":"x"})", "'protocol' is missing"},
      {R"({"protocol":"one"})", "'protocol' must look like"},
      {R"({"protocol":"1.0","version":"1.0.0","description":"d"})", "'name' is missing"},
      {R"({"protocol":"1.0","name":"x","version":"1.0","description":"d"})", "'version' is not a semantic version"},
      {R"({"protocol":"1.0","name":"x","version":"1.0.0","description":3})", "'description' must be a string"},
      {R"({"protocol":"1.0","name":"x","version":"1.0.0","description":"d","verbs":"deploy"})", "'verbs' must be a list"},
      {R"({"protocol":"1.0","name":"x","version":"1.0.0","description":"d","verbs":[1]})", "'verbs' must be a list"},
      {R"({"protocol":"1.0","name":"x","version":"1.0.0","description":"d","completion":"yes"})", "'completion' must be true or false"},
      {R"({"protocol":"1.0","name":"x","version":"1.0.0","description":"d","requires_harmony":">=1"})", "'requires_harmony' is not"},
  };
  for (const auto& c : cases) {
    INFO(c.json);
    auto d = parse_descriptor(c.json);
    REQUIRE_FALSE(d);
    CHECK(d.error().message == "invalid plugin descriptor");
    CHECK_THAT(d.error().reason, Catch::Contains(c.expected));
  }
  CHECK_FALSE(parse_descriptor(std::string(70000, ' ')));
}

TEST_CASE("compatibility: an unknown protocol major or a too-old harmony is refused with a reason") {
  auto future = parse_descriptor(R"({"protocol":"2.3","anything":"else"})");
  REQUIRE(future);
  auto c = check_compatibility(*future, "0.1.0");
  CHECK_FALSE(c.ok);
  CHECK(c.reason == "it speaks plugin protocol 2.3; this harmony speaks 1.x");
  CHECK_THAT(c.hint, Catch::Contains("upgrade harmony"));

  auto newer_minor = parse_descriptor(R"({"protocol":"1.7","name":"x","version":"1.0.0","description":"d"})");
  REQUIRE(newer_minor);
  CHECK(check_compatibility(*newer_minor, "0.1.0").ok);

  auto needs = parse_descriptor(R"({"protocol":"1.0","name":"x","version":"1.0.0","description":"d","requires_harmony":"0.3.0"})");
  REQUIRE(needs);
  auto too_old = check_compatibility(*needs, "0.2.9");
  CHECK_FALSE(too_old.ok);
  CHECK(too_old.reason == "it requires harmony 0.3.0 or later; this is harmony 0.2.9");
  CHECK(check_compatibility(*needs, "0.3.0").ok);
  CHECK(check_compatibility(*needs, "1.0.0").ok);
}

TEST_CASE("script plugins declare a description in a leading comment") {
  CHECK(script_description("#!/bin/sh\n# harmony-description: Say hello \nexec echo hi\n") == "Say hello");
  CHECK(script_description("#!/bin/sh\n# some comment\n#harmony-description:Second\n") == "Second");
  CHECK_FALSE(script_description("#!/bin/sh\necho x\n# harmony-description: too late\n"));
  CHECK_FALSE(script_description("# harmony-description: no shebang\n"));
  CHECK_FALSE(script_description("\x7f" "ELF"));
}
