#include <catch2/catch.hpp>

#include <fstream>
#include <sys/stat.h>

#include <harmony/base/files.hpp>
#include <harmony/base/time.hpp>
#include <harmony/kube/credentials.hpp>

#include "temp_dir.hpp"

using harmony::kube::ClientConfig;
using harmony::kube::CredentialSource;
using harmony::kube::ExecConfig;

namespace {

// A real exec credential plugin: a shell script that counts its runs and
// prints an ExecCredential (expiring at `expiry`, or never when empty).
std::string plugin(const harmony::testing::TempDir& dir, const std::string& expiry, const std::string& status_extra = {}) {
  const std::string path = dir / "plugin.sh";
  std::ofstream(path) << "#!/bin/sh\n"
                      << "echo run >> " << dir.path() << "/runs\n"
                      << "printf '%s' \"$KUBERNETES_EXEC_INFO\" > " << dir.path() << "/info\n"
                      << "cat <<JSON\n{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
                      << "\"status\":{\"token\":\"tok-$MODE\"" << status_extra
                      << (expiry.empty() ? "" : ",\"expirationTimestamp\":\"" + expiry + "\"") << "}}\nJSON\n";
  ::chmod(path.c_str(), 0755);
  return path;
}

ClientConfig with_exec(const std::string& command) {
  ClientConfig c;
  c.cluster.server = "https://x.invalid";
  ExecConfig e;
  e.api_version = "client.authentication.k8s.io/v1";
  e.command = command;
  e.env = {{"MODE", "a"}};
  e.provide_cluster_info = true;
  c.user.exec = e;
  return c;
}

}  // namespace

TEST_CASE("credentials: an exec plugin's token is cached until shortly before it expires") {
  harmony::testing::TempDir dir;
  const auto later = harmony::base::rfc3339(std::chrono::system_clock::now() + std::chrono::hours(1));
  CredentialSource source(with_exec(plugin(dir, later)));
  auto first = source.get();
  REQUIRE(first);
  CHECK(first->token == "tok-a");
  CHECK(source.get()->token == "tok-a");
  CHECK(source.exec_runs() == 1);
  // KUBERNETES_EXEC_INFO told the plugin the cluster, non-interactively.
  auto info = harmony::base::read_file(dir / "info");
  REQUIRE(info);
  CHECK_THAT(*info, Catch::Contains("\"interactive\":false") && Catch::Contains("https://x.invalid"));

  // A 401 makes the next request run it again.
  CHECK(source.invalidate());
  CHECK(source.get()->token == "tok-a");
  CHECK(source.exec_runs() == 2);
}

TEST_CASE("credentials: an expired (or nearly expired) exec credential runs the plugin on every use") {
  harmony::testing::TempDir dir;
  const auto soon = harmony::base::rfc3339(std::chrono::system_clock::now() + std::chrono::seconds(2));
  CredentialSource source(with_exec(plugin(dir, soon)));
  REQUIRE(source.get());
  REQUIRE(source.get());
  CHECK(source.exec_runs() == 2);
}

TEST_CASE("credentials: a failing or lying plugin is an error naming it, with its install hint and last words") {
  harmony::testing::TempDir dir;
  const std::string failing = dir / "fail.sh";
  std::ofstream(failing) << "#!/bin/sh\necho 'login required: run sso-login' >&2\nexit 3\n";
  ::chmod(failing.c_str(), 0755);
  auto config = with_exec(failing);
  config.user.exec->install_hint = "install the sso tool";
  auto e = CredentialSource(config).get();
  REQUIRE_FALSE(e);
  CHECK_THAT(e.error().message, Catch::Contains(failing));
  CHECK_THAT(e.error().reason, Catch::Contains("status 3") && Catch::Contains("run sso-login"));
  CHECK(e.error().hint == "install the sso tool");

  auto missing = CredentialSource(with_exec(dir / "no-such-plugin")).get();
  REQUIRE_FALSE(missing);
  CHECK_THAT(missing.error().message, Catch::Contains("could not be started"));

  const std::string wrong = dir / "wrong.sh";
  std::ofstream(wrong) << "#!/bin/sh\necho '{\"kind\":\"ExecCredential\",\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"status\":{\"token\":\"x\"}}'\n";
  ::chmod(wrong.c_str(), 0755);
  auto version = CredentialSource(with_exec(wrong)).get();
  REQUIRE_FALSE(version);
  CHECK_THAT(version.error().message, Catch::Contains("wrong version"));
}

TEST_CASE("credentials: a token file is re-read after invalidate (rotated service-account tokens)") {
  harmony::testing::TempDir dir;
  std::ofstream(dir / "token") << "first\n";
  ClientConfig c;
  c.user.token_file = dir / "token";
  CredentialSource source(c);
  CHECK(source.get()->token == "first");
  std::ofstream(dir / "token") << "second\n";
  CHECK(source.get()->token == "first");  // cached
  CHECK(source.invalidate());
  CHECK(source.get()->token == "second");
}

TEST_CASE("credentials: a static token cannot be refreshed") {
  ClientConfig c;
  c.user.token = "static";
  CredentialSource source(c);
  CHECK(source.get()->token == "static");
  CHECK_FALSE(source.invalidate());
}
