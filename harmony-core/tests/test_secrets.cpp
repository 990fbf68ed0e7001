#include <catch2/catch.hpp>

#include <filesystem>
#include <sys/stat.h>
#include <unistd.h>

#include <harmony/base/files.hpp>
#include <harmony/base/secrets.hpp>

#include "temp_dir.hpp"

using namespace harmony::base;
using harmony::testing::TempDir;

namespace {
constexpr uid_t nobody = 65534;  // nobody and nogroup on Debian

std::string secret_at(const TempDir& dir, const std::string& name, mode_t mode, const std::string& text = "s3cret\n") {
  const std::string path = dir / name;
  REQUIRE(write_file_atomically(path, text, mode));
  return path;
}

// Changing a file's owner, or its group to one we are not in, needs root.
bool can_give_files_away() {
  if (::geteuid() == 0) return true;
  WARN("skipped: giving a file to another user or group needs root; not exercised");
  return false;
}
}  // namespace

TEST_CASE("a secret only its owner can read is read, without its line end") {
  TempDir dir;
  auto secret = read_secret_file(secret_at(dir, "password", 0600, "s3cret\r\n"));
  REQUIRE(secret);
  CHECK(*secret == "s3cret");
  // Its own group may read it too: that is how a service's group shares a secret.
  CHECK(read_secret_file(secret_at(dir, "shared", 0640)) == "s3cret");
}

TEST_CASE("a secret others can read is refused, naming others, and never shown") {
  TempDir dir;
  auto refused = read_secret_file(secret_at(dir, "password", 0644), "the NATS password file");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().insecure);
  CHECK_THAT(refused.error().message, Catch::Contains("refusing to use the NATS password file") &&
                                          Catch::Contains(dir / "password"));
  CHECK_THAT(refused.error().reason, Catch::Contains("others") && Catch::Contains("any user can read it (mode 0644)"));
  CHECK_THAT(refused.error().hint, Catch::Contains("chmod 600"));
  CHECK(refused.error().reason.find("s3cret") == std::string::npos);

  auto writable = read_secret_file(secret_at(dir, "writable", 0602));
  REQUIRE_FALSE(writable);
  CHECK(writable.error().insecure);
  CHECK_THAT(writable.error().reason, Catch::Contains("others") && Catch::Contains("0602"));
}

TEST_CASE("a secret whose group we are not in may not be readable by that group") {
  if (!can_give_files_away()) return;
  TempDir dir;
  const std::string path = secret_at(dir, "password", 0640);
  REQUIRE(::chown(path.c_str(), static_cast<uid_t>(-1), nobody) == 0);
  auto refused = read_secret_file(path);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().insecure);
  CHECK_THAT(refused.error().reason, Catch::Contains("its group") && Catch::Contains("gid 65534") &&
                                         Catch::Contains("not in that group"));
  CHECK_THAT(refused.error().hint, Catch::Contains("chmod g-rwx"));
  ::chmod(path.c_str(), 0600);  // the group has no access now: fine
  CHECK(read_secret_file(path) == "s3cret");
}

TEST_CASE("a secret owned by another user than root or ours is refused") {
  if (!can_give_files_away()) return;
  TempDir dir;
  const std::string path = secret_at(dir, "password", 0600);
  REQUIRE(::chown(path.c_str(), nobody, static_cast<gid_t>(-1)) == 0);
  auto refused = read_secret_file(path);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().insecure);
  CHECK_THAT(refused.error().reason, Catch::Contains("belongs to user") && Catch::Contains("uid 65534") &&
                                         Catch::Contains("not to root"));
}

TEST_CASE("a secret behind symlinks, as Kubernetes mounts them, is followed and checked where it lands") {
  TempDir dir;
  // <mount>/..data -> ..2024_01_01, and <mount>/password -> ..data/password
  std::filesystem::create_directory(dir / "..2024_01_01");
  secret_at(dir, "..2024_01_01/password", 0600);
  std::filesystem::create_directory_symlink("..2024_01_01", dir / "..data");
  std::filesystem::create_symlink("..data/password", dir / "password");
  CHECK(read_secret_file(dir / "password") == "s3cret");

  ::chmod((dir / "..2024_01_01/password").c_str(), 0644);  // the link's own mode is 0777 either way
  auto refused = read_secret_file(dir / "password");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().insecure);
}

TEST_CASE("a secret that cannot be read is an error of its own kind") {
  TempDir dir;
  auto missing = read_secret_file(dir / "absent", "the NATS password file");
  REQUIRE_FALSE(missing);
  CHECK_FALSE(missing.error().insecure);
  CHECK(missing.error().os_errno == ENOENT);
  CHECK_THAT(missing.error().message, Catch::Contains("cannot read the NATS password file"));

  auto directory = read_secret_file(dir.path());
  REQUIRE_FALSE(directory);
  CHECK_FALSE(directory.error().insecure);

  auto large = read_secret_file(secret_at(dir, "large", 0600, std::string(5000, 'x')));
  REQUIRE_FALSE(large);
  CHECK_FALSE(large.error().insecure);
  CHECK_THAT(large.error().reason, Catch::Contains("larger than 4096 bytes"));
}
