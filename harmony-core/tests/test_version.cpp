#include <catch2/catch.hpp>

#include <harmony/base/version.hpp>

using harmony::base::Version;

TEST_CASE("semantic versions parse strictly") {
  auto v = Version::parse("1.22.3-rc.1+build.5");
  REQUIRE(v);
  CHECK(v->major == 1);
  CHECK(v->minor == 22);
  CHECK(v->patch == 3);
  CHECK(v->prerelease == "rc.1");
  CHECK(v->str() == "1.22.3-rc.1");
  for (const char* bad : {"", "1", "1.2", "1.2.3.4", "01.2.3", "1.2.x", "v1.2.3", "1.2.3-", "1.2.3-01", "1.2.3+"})
    CHECK_FALSE(Version::parse(bad));
}

TEST_CASE("precedence follows semver") {
  auto p = [](const char* s) { return *Version::parse(s); };
  CHECK(p("1.0.0-alpha") < p("1.0.0-alpha.1"));
  CHECK(p("1.0.0-alpha.1") < p("1.0.0-alpha.beta"));
  CHECK(p("1.0.0-beta.2") < p("1.0.0-beta.11"));
  CHECK(p("1.0.0-rc.1") < p("1.0.0"));
  CHECK(p("1.9.0") < p("1.10.0"));
  CHECK(p("1.0.0+a") == p("1.0.0+b"));
}
