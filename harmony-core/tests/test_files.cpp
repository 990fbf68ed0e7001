#include <catch2/catch.hpp>

#include <filesystem>
#include <sys/stat.h>

#include <harmony/base/files.hpp>

#include "temp_dir.hpp"

using namespace harmony::base;

using harmony::testing::TempDir;

TEST_CASE("files are written atomically with exactly the mode asked for, and read back") {
  TempDir dir;
  const std::string file = dir.path() + "/secret";
  ::umask(0);
  REQUIRE(write_file_atomically(file, "first", 0600));
  REQUIRE(write_file_atomically(file, "second", 0600));
  ::umask(022);
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK(read_file(file) == "second");
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), {}) == 1);  // no temporary left
  auto too_big = read_file(file, 3);
  REQUIRE_FALSE(too_big);
  CHECK_THAT(too_big.error().reason, Catch::Contains("larger than 3 bytes"));
  auto missing = read_file(dir.path() + "/nope");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().os_errno == ENOENT);
}

TEST_CASE("directories are made with their parents") {
  TempDir dir;
  REQUIRE(make_directories(dir.path() + "/a/b/c", 0700));
  CHECK(std::filesystem::is_directory(dir.path() + "/a/b/c"));
  REQUIRE(make_directories(dir.path() + "/a/b/c", 0700));  // exists: fine
  REQUIRE(write_file_atomically(dir.path() + "/file", "x"));
  CHECK_FALSE(make_directories(dir.path() + "/file"));
  CHECK_FALSE(make_directories(dir.path() + "/file/sub"));
}
