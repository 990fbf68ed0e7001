#include <catch2/catch.hpp>

#include "args.hpp"

using namespace harmony::dispatcher;

namespace {
constexpr FlagSpec flags[] = {{"verbose", 'v', {}, "more"}, {"output", 'o', "FORMAT", "text or json"}, {"name-only", 0, {}, "names"}};

ParsedArgs parse(std::vector<std::string> args, Stop stop = Stop::never) {
  auto r = parse_args(args, flags, stop, "harmony test");
  INFO((r ? "" : r.error().message));
  REQUIRE(r);
  return *r;
}
}  // namespace

TEST_CASE("flags in every GNU spelling") {
  auto a = parse({"-v", "-vv", "--verbose", "-o", "json", "pos", "--name-only"});
  CHECK(a.count("verbose") == 4);
  CHECK(a.last("output") == "json");
  CHECK(a.count("name-only") == 1);
  CHECK(a.positionals == std::vector<std::string>{"pos"});
  CHECK(parse({"-ojson"}).last("output") == "json");
  CHECK(parse({"-vo", "json"}).last("output") == "json");
  CHECK(parse({"--output=json"}).last("output") == "json");
  CHECK(parse({"--output", "text", "--output=json"}).last("output") == "json");
  CHECK(parse({"--", "-v", "x"}).positionals == std::vector<std::string>{"-v", "x"});
  CHECK(parse({"-"}).positionals == std::vector<std::string>{"-"});
  CHECK(parse({"-h"}).help);
  CHECK(parse({"x", "--help"}).help);
}

TEST_CASE("stopping at the first positional keeps the rest untouched") {
  auto a = parse({"-v", "deploy", "-v", "--bogus"}, Stop::at_positional);
  CHECK(a.count("verbose") == 1);
  CHECK(a.rest == std::vector<std::string>{"deploy", "-v", "--bogus"});
  auto unknown = parse({"-v", "--bogus", "x"}, Stop::at_positional_or_unknown);
  CHECK(unknown.rest == std::vector<std::string>{"--bogus", "x"});
  CHECK(parse({"-vx"}, Stop::at_positional_or_unknown).rest == std::vector<std::string>{"-vx"});
  CHECK(parse({"--", "x"}, Stop::at_positional).rest == std::vector<std::string>{"--", "x"});
}

TEST_CASE("bad flags are usage errors with a suggestion") {
  auto unknown = parse_args(std::vector<std::string>{"--outptu", "json"}, flags, Stop::never, "harmony test");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().status == 2);
  CHECK(unknown.error().message == "unknown flag '--outptu' for 'harmony test'");
  CHECK(unknown.error().hint == "did you mean '--output'?");
  auto missing = parse_args(std::vector<std::string>{"-o"}, flags, Stop::never, "harmony test");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message == "the flag --output needs a value (FORMAT)");
  auto valued = parse_args(std::vector<std::string>{"--name-only=yes"}, flags, Stop::never, "harmony test");
  REQUIRE_FALSE(valued);
  CHECK(valued.error().message == "the flag --name-only takes no value");
}

TEST_CASE("help text comes from the same table") {
  CHECK(flags_help(flags) ==
        "  -v, --verbose         more\n"
        "  -o, --output FORMAT   text or json\n"
        "      --name-only       names\n"
        "  -h, --help            show this help\n");
}
