// The local topology's credentials go through the one secret reader.

#include <catch2/catch.hpp>

#include <filesystem>
#include <sys/stat.h>

#include <harmony/base/files.hpp>
#include <harmony/topologies/local.hpp>

#include "temp_dir.hpp"

using harmony::RunContext;
using harmony::TopologyEnvironment;
using harmony::topologies::Local;

TEST_CASE("local credentials: generated once, reused, and never silently replaced when others could read them") {
  harmony::testing::TempDir dir;
  Local local(TopologyEnvironment{"sdktest", dir.path()});
  RunContext ctx;
  ctx.component = "web";
  int generated = 0;
  auto generate = [&] {
    ++generated;
    return std::string("s3cret\n");
  };
  auto first = local.ensure_secret(ctx, "token", generate);
  REQUIRE(first);
  CHECK(*first == "s3cret");  // text: no trailing line end
  auto again = local.ensure_secret(ctx, "token", generate);
  REQUIRE(again);
  CHECK(*again == "s3cret");
  CHECK(generated == 1);

  const std::string path = local.credential_path("web", "token");
  REQUIRE(::chmod(path.c_str(), 0644) == 0);
  auto refused = local.ensure_secret(ctx, "token", generate);
  REQUIRE_FALSE(refused);
  CHECK_THAT(refused.error().reason, Catch::Contains("others"));
  CHECK_THAT(refused.error().hint, Catch::Contains("chmod 600"));
  CHECK(refused.error().message.find("s3cret") == std::string::npos);
  CHECK(generated == 1);  // not replaced
  CHECK(*harmony::base::read_file(path) == "s3cret");
}
