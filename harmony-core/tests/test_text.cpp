#include <catch2/catch.hpp>

#include <harmony/base/text.hpp>

using namespace harmony::base;

TEST_CASE("text helpers") {
  CHECK(split_lines("a\nb\n") == std::vector<std::string>{"a", "b"});
  CHECK(split_lines("a\n\nb") == std::vector<std::string>{"a", "", "b"});
  CHECK(split_lines("").empty());
  CHECK(join({"a", "b", "c"}, ", ") == "a, b, c");
  CHECK(join({}, ", ").empty());
  CHECK(format_table({{"NAME", "VERSION"}, {"fleet", "0.1.0"}, {"x", ""}}) == "NAME   VERSION\nfleet  0.1.0\nx\n");
}
