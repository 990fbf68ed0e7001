#include <catch2/catch.hpp>

#include <atomic>
#include <filesystem>
#include <functional>
#include <thread>
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

TEST_CASE("the temporary file of an atomic write cannot be guessed or planted") {
  TempDir dir;
  const std::string file = dir.path() + "/state";
  // Someone who may write the directory links the old predictable name to a victim.
  const std::string victim = dir.path() + "/victim";
  REQUIRE(write_file_atomically(victim, "untouched"));
  std::filesystem::create_symlink(victim, file + ".tmp." + std::to_string(::getpid()));
  REQUIRE(write_file_atomically(file, "mine", 0600));
  CHECK(read_file(file) == "mine");
  CHECK(read_file(victim) == "untouched");
}

TEST_CASE("concurrent atomic writes to one file each land whole") {
  TempDir dir;
  const std::string file = dir.path() + "/state";
  const std::string a(200000, 'a'), b(300000, 'b');
  std::atomic<int> failures{0}, ready{0};
  auto writer = [&](const std::string& text) {
    ++ready;
    while (ready < 2) std::this_thread::yield();  // start together, so that the writes overlap
    for (int i = 0; i < 200; ++i)
      if (!write_file_atomically(file, text, 0600, false)) ++failures;
  };
  std::thread first(writer, std::cref(a)), second(writer, std::cref(b));
  first.join();
  second.join();
  CHECK(failures == 0);
  auto text = read_file(file);
  REQUIRE(text);
  CHECK((*text == a || *text == b));
  CHECK(std::distance(std::filesystem::directory_iterator(dir.path()), {}) == 1);  // no temporary left
}

TEST_CASE("an atomic write gives exactly the mode asked for, whatever the umask") {
  TempDir dir;
  const std::string file = dir.path() + "/shared";
  const mode_t old = ::umask(077);
  auto written = write_file_atomically(file, "x", 0644);
  ::umask(old);
  REQUIRE(written);
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0644);
}
