#include <catch2/catch.hpp>

#include "elf_builder.hpp"
#include "catalog.hpp"
#include "fake_filesystem.hpp"

using namespace harmony::dispatcher;
using harmony::testing::elf_with_descriptor;
using harmony::testing::FakeFileSystem;

namespace {

SearchPath dirs(std::initializer_list<const char*> list) {
  SearchPath sp;
  sp.dirs.assign(list.begin(), list.end());
  return sp;
}

Catalog scan(const FakeFileSystem& fs, const SearchPath& sp, Policy policy = {}) {
  MetadataCache no_cache(std::nullopt, "0.1.0");
  return scan_catalog(fs, sp, policy, no_cache, "0.1.0");
}

const CatalogEntry& entry(const Catalog& c, const std::string& path) {
  for (const auto& e : c.entries)
    if (e.candidate.path == path) return e;
  FAIL("no entry " << path);
  throw;
}

std::string descriptor(const std::string& name, const std::string& extra = "") {
  return R"({"protocol":"1.0","name":")" + name + R"(","version":"1.2.3","description":"The )" + name +
         R"( plugin")" + extra + "}";
}

}  // namespace

TEST_CASE("the catalog lists every harmony-* file with its state, and never fails because of one") {
  FakeFileSystem fs;
  fs.file("/a/harmony-fleet", elf_with_descriptor(descriptor("fleet", R"(,"verbs":["deploy"])")));
  fs.file("/a/harmony-noexec", "#!/bin/sh\n", 0644);
  fs.file("/a/harmony-plugin");
  fs.file("/a/not-a-plugin");
  fs.file("/a/harmony-hello", "#!/bin/sh\n# harmony-description: Say hello\n");
  fs.file("/a/harmony-broken", elf_with_descriptor("{not json"));
  fs.file("/a/harmony-future", elf_with_descriptor(R"({"protocol":"2.0"})"));
  fs.file("/a/harmony-newer", elf_with_descriptor(descriptor("newer", R"(,"requires_harmony":"5.0.0")")));
  fs.file("/b/harmony-fleet", elf_with_descriptor(descriptor("fleet")));
  fs.link("/b/harmony-gone", "/nowhere");
  fs.file("/c/harmony-x");
  fs.chmod("/c", 0);  // unreadable directory
  fs.file("/d");      // not a directory

  auto c = scan(fs, dirs({"/missing", "/a", "/b", "/c", "/d"}));

  CHECK(entry(c, "/a/harmony-fleet").winner);
  CHECK(entry(c, "/a/harmony-fleet").status() == "ok");
  CHECK(entry(c, "/a/harmony-fleet").metadata.descriptor->offers_verb("deploy"));
  CHECK(entry(c, "/b/harmony-fleet").status() == "shadowed");
  CHECK(entry(c, "/b/harmony-fleet").shadowed_by == "/a/harmony-fleet");
  CHECK(entry(c, "/a/harmony-noexec").status() == "not-executable");
  CHECK(entry(c, "/a/harmony-plugin").status() == "clash");
  CHECK(entry(c, "/a/harmony-hello").metadata.description == "Say hello");
  CHECK(entry(c, "/a/harmony-hello").winner);
  CHECK(entry(c, "/a/harmony-broken").status() == "broken-descriptor");
  CHECK(entry(c, "/a/harmony-broken").winner);  // a broken descriptor does not stop it from running
  CHECK(entry(c, "/a/harmony-future").status() == "incompatible");
  CHECK_FALSE(entry(c, "/a/harmony-future").winner);
  CHECK(entry(c, "/a/harmony-newer").status() == "incompatible");
  CHECK(entry(c, "/b/harmony-gone").status() == "dangling-link");

  CHECK(c.commands() == std::vector<std::string>{"broken", "fleet", "hello"});
  REQUIRE(c.skipped_dirs.size() == 3);
  CHECK(c.skipped_dirs[0].reason == "does not exist");
  CHECK_THAT(c.skipped_dirs[1].reason, Catch::Contains("cannot be read"));
  CHECK(c.skipped_dirs[2].reason == "not a directory");
  for (const auto& e : c.entries) CHECK(e.candidate.file_name != "not-a-plugin");
}

TEST_CASE("a directory reached twice is searched once (merged /usr)") {
  FakeFileSystem fs;
  fs.file("/usr/bin/harmony-fleet");
  fs.link("/bin", "usr/bin");
  auto c = scan(fs, dirs({"/usr/bin", "/bin"}));
  REQUIRE(c.entries.size() == 1);
  CHECK(c.entries[0].winner);
  REQUIRE(c.skipped_dirs.size() == 1);
  CHECK(c.skipped_dirs[0].reason == "the same directory as /usr/bin");
}

TEST_CASE("an unrunnable file earlier in the path does not hide a later good one") {
  FakeFileSystem fs;
  fs.file("/a/harmony-foo", "#!/bin/sh\n", 0644);
  fs.file("/b/harmony-foo");
  auto c = scan(fs, dirs({"/a", "/b"}));
  CHECK(entry(c, "/b/harmony-foo").winner);
  CHECK(entry(c, "/a/harmony-foo").shadowed_by == "/b/harmony-foo");
  CHECK(entry(c, "/a/harmony-foo").status() == "not-executable");
}

TEST_CASE("multi-word plugins keep their words") {
  FakeFileSystem fs;
  fs.file("/a/harmony-foo-bar");
  fs.file("/a/harmony-my_app");
  auto c = scan(fs, dirs({"/a"}));
  CHECK(c.commands() == std::vector<std::string>{"foo bar", "my-app"});
  CHECK(c.winner_for({"foo", "bar"}) != nullptr);
  CHECK(c.winner_for({"foo"}) == nullptr);
}
