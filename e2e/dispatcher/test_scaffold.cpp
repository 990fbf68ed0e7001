// `harmony plugin new`: a project from the SDK's template, renamed, and
// nothing written over.

#include <catch2/catch.hpp>

#include <filesystem>

#include <harmony/base/files.hpp>

#include "sandbox.hpp"

using namespace harmony::e2e;
namespace fs = std::filesystem;

namespace {

struct Scaffold {
  Sandbox box;
  Scaffold() {
    box.path_dirs = {"/usr/bin", "/bin"};
    box.vars = {{"HARMONY_SDK_TEMPLATE", HARMONY_E2E_TEMPLATE}};
  }
  std::string read(const std::string& relative) const { return harmony::base::read_file(box.path(relative)).value_or(""); }
};

}  // namespace

TEST_CASE("plugin new copies the template with every spelling of its name replaced") {
  Scaffold s;
  auto r = s.box.harmony({"plugin", "new", "shop"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::StartsWith("created harmony-shop in harmony-shop") && Catch::Contains("cmake --build harmony-shop/build"));
  // The dispatcher never searches a relative PATH entry: the one printed is absolute.
  CHECK_THAT(r.out, Catch::Contains("  PATH=" + s.box.path("harmony-shop") + "/build:$PATH harmony deploy shop"));
  for (const char* file : {"harmony-shop/CMakeLists.txt", "harmony-shop/src/main.cpp", "harmony-shop/src/shop_server.cpp",
                           "harmony-shop/cmake/ShopPackaging.cmake", "harmony-shop/packaging/harmony-shop.1",
                           "harmony-shop/tests/test_shop.cpp"})
    CHECK(fs::exists(s.box.path(file)));
  CHECK_THAT(s.read("harmony-shop/CMakeLists.txt"), Catch::Contains("harmony_add_plugin(shop SOURCES src/main.cpp)") &&
                                                        Catch::Contains("include(cmake/ShopPackaging.cmake)") &&
                                                        Catch::Contains("SHOP_BUILD_TESTS"));
  CHECK_THAT(s.read("harmony-shop/src/main.cpp"), Catch::Contains("class ShopScore") && Catch::Contains("\"shop-server\""));
  CHECK_THAT(s.read("harmony-shop/packaging/harmony-shop.1"), Catch::StartsWith(".TH HARMONY-SHOP 1"));
  std::string everything;
  for (const auto& e : fs::recursive_directory_iterator(s.box.path("harmony-shop")))
    if (e.is_regular_file()) everything += s.read(e.path().string()) + e.path().string();
  CHECK(everything.find("myapp") == std::string::npos);
  CHECK(everything.find("MyApp") == std::string::npos);
  CHECK(everything.find("MYAPP") == std::string::npos);

  auto json = json_of(s.box.harmony({"-o", "json", "plugin", "new", "cart", "--dir", "elsewhere/cart"}));
  CHECK(json["plugin"] == "cart");
  CHECK(json["directory"] == "elsewhere/cart");
  CHECK(fs::exists(s.box.path("elsewhere/cart/src/cart_server.cpp")));
}

TEST_CASE("plugin new refuses bad names and never writes over files") {
  Scaffold s;
  for (const char* bad : {"Shop", "my-app", "my_app", "1shop", "", "deploy", "plugin"}) {
    auto r = s.box.harmony({"plugin", "new", bad});
    INFO(bad);
    CHECK(r.exit_code == 2);
  }
  s.box.write("taken", "notes.txt", "mine\n");
  auto r = s.box.harmony({"plugin", "new", "shop", "--dir", "taken"});
  CHECK(r.exit_code == 1);
  CHECK_THAT(r.err, Catch::Contains("exists and is not empty"));
  CHECK(s.read("taken/notes.txt") == "mine\n");
  CHECK_FALSE(fs::exists(s.box.path("taken/CMakeLists.txt")));

  s.box.vars = {{"HARMONY_SDK_TEMPLATE", s.box.path("nowhere")}};
  auto missing = s.box.harmony({"plugin", "new", "shop"});
  CHECK(missing.exit_code == 1);
  CHECK_THAT(missing.err, Catch::Contains("cannot find the plugin template") && Catch::Contains("HARMONY_SDK_TEMPLATE"));
}
