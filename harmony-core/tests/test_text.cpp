#include <catch2/catch.hpp>

#include <harmony/base/error.hpp>
#include <harmony/base/text.hpp>
#include <harmony/base/time.hpp>

using namespace harmony::base;

TEST_CASE("text helpers") {
  CHECK(split_lines("a\nb\n") == std::vector<std::string>{"a", "b"});
  CHECK(split_lines("a\n\nb") == std::vector<std::string>{"a", "", "b"});
  CHECK(split_lines("").empty());
  CHECK(join({"a", "b", "c"}, ", ") == "a, b, c");
  CHECK(join({}, ", ").empty());
  CHECK(format_table({{"NAME", "VERSION"}, {"fleet", "0.1.0"}, {"x", ""}}) == "NAME   VERSION\nfleet  0.1.0\nx\n");
}

TEST_CASE("time: RFC 3339 both ways, and durations") {
  auto t = parse_rfc3339("2026-11-26T22:14:59Z");
  REQUIRE(t);
  CHECK(rfc3339(*t) == "2026-11-26T22:14:59Z");
  CHECK(parse_rfc3339("2026-11-26T22:14:59.123Z") == t);
  for (const char* bad : {"", "2026-11-26", "2026-11-26T22:14:59", "2026-11-26T22:14:59+01:00", "yesterday"})
    CHECK_FALSE(parse_rfc3339(bad));
  CHECK(parse_duration("30s") == std::chrono::seconds(30));
  CHECK(parse_duration("500ms") == std::chrono::milliseconds(500));
  CHECK(parse_duration("2m") == std::chrono::minutes(2));
  CHECK(parse_duration("1h") == std::chrono::hours(1));
  CHECK(parse_duration("7") == std::chrono::seconds(7));
  for (const char* bad : {"", "s", "5x", "-5s", "5 s"}) CHECK_FALSE(parse_duration(bad));
  CHECK(format_duration(std::chrono::seconds(90)) == "90s");
  CHECK(format_duration(std::chrono::minutes(2)) == "2m");
  CHECK(format_duration(std::chrono::milliseconds(1500)) == "1500ms");
}

TEST_CASE("split_list keeps the non-empty parts between separators") {
  using harmony::base::split_list;
  CHECK(split_list("nats://a:4222,nats://b:4222", ',') == std::vector<std::string>{"nats://a:4222", "nats://b:4222"});
  CHECK(split_list(",a,,b,", ',') == std::vector<std::string>{"a", "b"});
  CHECK(split_list("", ',').empty());
  CHECK(split_list("one", ',') == std::vector<std::string>{"one"});
}

TEST_CASE("base64 both ways, refusing what is not base64") {
  using harmony::base::base64_decode;
  using harmony::base::base64_encode;
  CHECK(base64_encode("") == "");
  CHECK(base64_encode("f") == "Zg==");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode(std::string("\0\xff\x10", 3)) == "AP8Q");
  CHECK(base64_decode("Zm9vYmFy") == "foobar");
  CHECK(base64_decode("Zm9v\nYmE=\n") == "fooba");  // wrapped, as PEM bundles are
  CHECK(base64_decode("AP8Q") == std::string("\0\xff\x10", 3));
  CHECK_FALSE(base64_decode("Zm9v*"));
  CHECK_FALSE(base64_decode("Zg==Zg=="));
  CHECK_FALSE(base64_decode("Z"));
  CHECK_FALSE(base64_decode("Zg==="));
}

TEST_CASE("printable replaces C0, DEL and C1 controls, and keeps other UTF-8") {
  CHECK(printable("a\x1b[2Jb\x07") == "a?[2Jb?");
  CHECK(printable("\xc2\x9b" "2J and \xc2\x9d" "0;t") == "?2J and ?0;t");  // U+009B CSI, U+009D OSC
  CHECK(printable("caf\xc3\xa9 \xc2\xa0") == "caf\xc3\xa9 \xc2\xa0");     // é and NBSP stay
  CHECK(printable_lines("one\ntwo\t\x1b") == "one\ntwo\t?");
}
