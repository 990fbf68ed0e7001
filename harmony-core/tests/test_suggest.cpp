#include <catch2/catch.hpp>

#include <harmony/base/suggest.hpp>

using namespace harmony::base;

TEST_CASE("edit distance counts adjacent swaps as one edit") {
  CHECK(edit_distance("fleet", "fleet") == 0);
  CHECK(edit_distance("flete", "fleet") == 1);
  CHECK(edit_distance("", "abc") == 3);
  CHECK(edit_distance("kitten", "sitting") == 3);
}

TEST_CASE("suggestions are close names and prefixes, best first") {
  std::vector<std::string> known{"deploy", "destroy", "status", "plan", "fleet", "plugin"};
  CHECK(suggest("deplyo", known) == std::vector<std::string>{"deploy"});
  CHECK(suggest("flet", known) == std::vector<std::string>{"fleet"});
  CHECK(suggest("plu", known) == std::vector<std::string>{"plugin"});
  CHECK(suggest("stat", known) == std::vector<std::string>{"status"});
  CHECK(suggest("zzzzzz", known).empty());
  CHECK(suggest(std::string(100000, 'x'), known).empty());
}
