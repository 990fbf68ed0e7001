#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "elf_builder.hpp"
#include "fake_filesystem.hpp"
#include "metadata.hpp"
#include "temp_dir.hpp"

using namespace harmony::dispatcher;
using harmony::testing::elf_with_descriptor;
using harmony::testing::FakeFileSystem;
using harmony::testing::TempDir;

namespace {

const std::string good = R"({"protocol":"1.0","name":"fleet","version":"1.0.0","description":"Fleet"})";
const std::string needs_future = R"({"protocol":"1.0","name":"new","version":"1.0.0","description":"New","requires_harmony":"9.0.0"})";

Candidate candidate(const FakeFileSystem& fs, const std::string& path) {
  return inspect(fs, harmony::base::parent_dir(path), path.substr(path.rfind('/') + 1), {});
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("metadata comes from the embedded descriptor, a script comment, or nowhere") {
  FakeFileSystem fs;
  fs.file("/p/harmony-fleet", elf_with_descriptor(good));
  fs.file("/p/harmony-script", "#!/bin/sh\n# harmony-description: A script\n");
  fs.file("/p/harmony-plain", harmony::testing::ElfBuilder{true, false, {{".text", "x"}}}.build());
  fs.file("/p/harmony-broken", elf_with_descriptor(R"({"protocol":"1.0"})"));

  auto fleet = read_metadata(fs, "/p/harmony-fleet");
  CHECK(fleet.source == Metadata::Source::descriptor);
  REQUIRE(fleet.descriptor);
  CHECK(fleet.description == "Fleet");

  auto script = read_metadata(fs, "/p/harmony-script");
  CHECK(script.source == Metadata::Source::script);
  CHECK(script.description == "A script");

  CHECK(read_metadata(fs, "/p/harmony-plain").source == Metadata::Source::none);

  auto broken = read_metadata(fs, "/p/harmony-broken");
  CHECK_FALSE(broken.descriptor);
  CHECK_THAT(broken.error, Catch::Contains("'name' is missing"));
  Candidate c = candidate(fs, "/p/harmony-broken");
  apply_metadata(c, broken, "0.1.0");
  CHECK(c.has(Problem::broken_descriptor));
  CHECK(c.runnable());
}

TEST_CASE("the cache serves unchanged files without reading them, and notices changes") {
  TempDir dir;
  FakeFileSystem fs;
  fs.file("/p/harmony-fleet", elf_with_descriptor(good));
  {
    MetadataCache cache(dir.path(), "0.1.0");
    CHECK(cache.get(fs, candidate(fs, "/p/harmony-fleet")).description == "Fleet");
    cache.save(true);
  }
  CHECK(fs.section_reads == 1);
  {
    MetadataCache cache(dir.path(), "0.1.0");
    CHECK(cache.get(fs, candidate(fs, "/p/harmony-fleet")).description == "Fleet");
    cache.save(true);
  }
  CHECK(fs.section_reads == 1);  // served from the cache file

  fs.touch("/p/harmony-fleet");  // a new mtime is a new file
  {
    MetadataCache cache(dir.path(), "0.1.0");
    cache.get(fs, candidate(fs, "/p/harmony-fleet"));
    cache.save(true);
  }
  CHECK(fs.section_reads == 2);
}

TEST_CASE("a damaged cache file is ignored and rewritten") {
  TempDir dir;
  std::ofstream(dir.path() + "/plugins-v1.json") << "{\"format\":1,\"entries\":[{\"path\":3}]}";
  FakeFileSystem fs;
  fs.file("/p/harmony-fleet", elf_with_descriptor(good));
  MetadataCache cache(dir.path(), "0.1.0");
  CHECK(cache.get(fs, candidate(fs, "/p/harmony-fleet")).description == "Fleet");
  cache.save(true);
  CHECK_THAT(slurp(dir.path() + "/plugins-v1.json"), Catch::Contains("harmony-fleet"));
}

TEST_CASE("incompatible plugins are written to the refusal list that dispatch reads") {
  TempDir dir;
  FakeFileSystem fs;
  fs.file("/p/harmony-new", elf_with_descriptor(needs_future));
  fs.file("/p/harmony-fleet", elf_with_descriptor(good));
  Candidate newer = candidate(fs, "/p/harmony-new");
  Candidate fleet = candidate(fs, "/p/harmony-fleet");
  {
    MetadataCache cache(dir.path(), "0.1.0");
    cache.get(fs, newer);
    cache.get(fs, fleet);
    cache.save(true);
  }
  auto refusal = cached_refusal(dir.path(), newer.stat, "0.1.0");
  REQUIRE(refusal);
  CHECK(*refusal == "it requires harmony 9.0.0 or later; this is harmony 0.1.0");
  CHECK_FALSE(cached_refusal(dir.path(), fleet.stat, "0.1.0"));
  // Written by another harmony version: not trusted.
  CHECK_FALSE(cached_refusal(dir.path(), newer.stat, "9.0.0"));
  // The plugin changed since: not refused until it is looked at again.
  fs.touch("/p/harmony-new");
  CHECK_FALSE(cached_refusal(dir.path(), candidate(fs, "/p/harmony-new").stat, "0.1.0"));

  // Once nothing is incompatible the list disappears.
  fs.remove("/p/harmony-new");
  {
    MetadataCache cache(dir.path(), "0.1.0");
    cache.get(fs, fleet);
    cache.save(true);
  }
  CHECK_FALSE(std::filesystem::exists(dir.path() + "/refused-v1"));
  CHECK_FALSE(cached_refusal(std::nullopt, fleet.stat, "0.1.0"));
}
