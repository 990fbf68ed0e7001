// harmony-myapp's own tests: the real plugin and server, deployed on the
// local topology inside a scratch sandbox (harmony::testing::Sandbox).

#include <catch2/catch.hpp>

#include <harmony/testing.hpp>

namespace {

struct Deployed {
  harmony::testing::Sandbox box;
  std::string port = std::to_string(harmony::testing::Sandbox::free_port());

  Deployed() {
    box.install(MYAPP_PLUGIN);
    box.install(MYAPP_SERVER);
  }
  ~Deployed() { (void)box.run({"harmony-myapp", "destroy", "--yes", "--purge"}); }
  harmony::base::ProcessResult run(std::vector<std::string> argv) const { return box.run(argv); }
};

}  // namespace

TEST_CASE("deploy blocks until myapp answers, and status says it is up") {
  Deployed d;
  auto deploy = d.run({"harmony-myapp", "deploy", "--set", "myapp.port=" + d.port, "--set", "myapp.greeting=hi there"});
  INFO(deploy.out << deploy.err);
  REQUIRE(deploy.exit_code == 0);

  auto status = harmony::testing::parse_json(d.run({"harmony-myapp", "status", "-o", "json"}).out);
  REQUIRE(status["components"].size() == 1);
  CHECK(status["components"][0]["state"] == "up");
  CHECK(status["components"][0]["health"]["ok"] == true);

  auto again = d.run({"harmony-myapp", "deploy", "--set", "myapp.port=" + d.port, "--set", "myapp.greeting=hi there"});
  CHECK(again.exit_code == 0);
  CHECK(again.out.find("no change") != std::string::npos);
}

TEST_CASE("a bad setting is refused with its key") {
  Deployed d;
  auto r = d.run({"harmony-myapp", "deploy", "--set", "myapp.port=http"});
  CHECK(r.exit_code == 8);
  CHECK(r.err.find("myapp.port") != std::string::npos);
}

TEST_CASE("destroy stops it") {
  Deployed d;
  REQUIRE(d.run({"harmony-myapp", "deploy", "--set", "myapp.port=" + d.port}).exit_code == 0);
  CHECK(d.run({"harmony-myapp", "destroy", "--yes"}).exit_code == 0);
  CHECK(d.run({"harmony-myapp", "status"}).out.find("nothing of myapp is deployed") != std::string::npos);
}
