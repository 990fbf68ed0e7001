#include <catch2/catch.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include <harmony/base/elf.hpp>
#include <harmony/base/process.hpp>

#include "elf_builder.hpp"
#include "temp_dir.hpp"

using namespace harmony::base;
using harmony::testing::ElfBuilder;
using harmony::testing::TempDir;

namespace {

expected<ElfSectionResult> read_from(const std::string& bytes, std::size_t max = 4096) {
  ReadAt read = [&](std::uint64_t offset, char* buffer, std::size_t length) -> std::size_t {
    if (offset >= bytes.size()) return 0;
    std::size_t n = std::min<std::size_t>(length, bytes.size() - offset);
    std::memcpy(buffer, bytes.data() + offset, n);
    return n;
  };
  return read_elf_section(read, bytes.size(), ".harmony_plugin", max);
}

}  // namespace

TEST_CASE("a named section is found in 64- and 32-bit, little- and big-endian files") {
  for (bool is64 : {true, false}) {
    for (bool big : {false, true}) {
      ElfBuilder b{is64, big, {{".text", "code"}, {".harmony_plugin", "{\"x\":1}"}}};
      auto r = read_from(b.build());
      REQUIRE(r);
      CHECK(r->state == ElfSection::found);
      CHECK(r->contents == "{\"x\":1}");
    }
  }
}

TEST_CASE("files that are not ELF, or lack the section, say so without an error") {
  auto script = read_from("#!/bin/sh\necho hi\n");
  REQUIRE(script);
  CHECK(script->state == ElfSection::not_elf);
  auto empty = read_from("");
  REQUIRE(empty);
  CHECK(empty->state == ElfSection::not_elf);
  ElfBuilder b{true, false, {{".text", "code"}}};
  auto absent = read_from(b.build());
  REQUIRE(absent);
  CHECK(absent->state == ElfSection::absent);
}

TEST_CASE("hostile section tables are errors, never reads outside the file") {
  ElfBuilder b{true, false, {{".harmony_plugin", "{}"}}};
  const std::string good = b.build();

  SECTION("truncated in the middle of the section table") {
    CHECK_FALSE(read_from(good.substr(0, good.size() - 10)));
  }
  SECTION("a section pointing past the end of the file") {
    std::string bad = good;
    std::size_t shoff = good.size() - 3 * 64;  // null, .harmony_plugin, .shstrtab
    b.put(bad, shoff + 64 + 0x18, 0xffffffffffff, 8);
    CHECK_FALSE(read_from(bad));
  }
  SECTION("an absurd section count") {
    std::string bad = good;
    b.put(bad, 0x3C, 0, 2);  // extended numbering: count in section 0
    std::size_t shoff = good.size() - 3 * 64;
    b.put(bad, shoff + 0x20, 1ull << 40, 8);
    CHECK_FALSE(read_from(bad));
  }
  SECTION("a name table index out of range") {
    std::string bad = good;
    b.put(bad, 0x3E, 99, 2);
    CHECK_FALSE(read_from(bad));
  }
  SECTION("a section larger than the caller's limit") {
    auto r = read_from(good, 1);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.find("too large") != std::string::npos);
  }
  SECTION("every truncation of a valid file is handled") {
    for (std::size_t n = 0; n < good.size(); ++n) (void)read_from(good.substr(0, n));
  }
}

TEST_CASE("a section added by objcopy to a real executable is read back, and survives strip") {
  TempDir tmp;
  const std::string& dir = tmp.path();
  std::filesystem::copy_file("/bin/true", dir + "/prog");
  std::ofstream(dir + "/desc.json") << R"({"protocol":"1.0"})";
  auto add = run_process({.argv = {"objcopy", "--add-section", ".harmony_plugin=" + dir + "/desc.json",
                                   "--set-section-flags", ".harmony_plugin=noload,readonly", dir + "/prog"}});
  REQUIRE(add);
  REQUIRE(add->ok());
  auto strip = run_process({.argv = {"strip", "--strip-unneeded", dir + "/prog"}});
  REQUIRE(strip);
  REQUIRE(strip->ok());
  auto r = read_elf_section_from_file(dir + "/prog", ".harmony_plugin", 4096);
  REQUIRE(r);
  CHECK(r->state == ElfSection::found);
  CHECK(r->contents == R"({"protocol":"1.0"})");
  auto still_runs = run_process({.argv = {dir + "/prog"}});
  REQUIRE(still_runs);
  CHECK(still_runs->ok());
}
