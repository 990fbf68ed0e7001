#pragma once
// Test support: builds minimal ELF files in memory, so readers can be tested
// on exactly the bytes a test needs (and on hostile variants of them).

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace harmony::testing {

// Builds a minimal ELF file: a header, the named sections' contents, a
// section name table and a section header table.
struct ElfBuilder {
  bool is64 = true;
  bool big_endian = false;
  std::vector<std::pair<std::string, std::string>> sections;

  void put(std::string& out, std::size_t at, std::uint64_t value, std::size_t width) const {
    if (out.size() < at + width) out.resize(at + width, '\0');
    for (std::size_t i = 0; i < width; ++i) {
      std::size_t shift = 8 * (big_endian ? width - 1 - i : i);
      out[at + i] = static_cast<char>((value >> shift) & 0xff);
    }
  }

  std::string build() const {
    const std::size_t ehsize = is64 ? 64 : 52, shentsize = is64 ? 64 : 40;
    std::string file(ehsize, '\0');
    std::memcpy(file.data(), "\x7f" "ELF", 4);
    file[4] = is64 ? 2 : 1;
    file[5] = big_endian ? 2 : 1;
    file[6] = 1;
    std::string names(1, '\0');
    std::vector<std::tuple<std::size_t, std::size_t, std::size_t>> placed;  // name, offset, size
    for (const auto& [name, contents] : sections) {
      placed.emplace_back(names.size(), file.size(), contents.size());
      names += name + '\0';
      file += contents;
    }
    std::size_t names_name = names.size();
    names += std::string(".shstrtab") + '\0';
    std::size_t names_offset = file.size();
    file += names;
    placed.emplace_back(names_name, names_offset, names.size());
    const std::size_t shoff = file.size();
    const std::size_t shnum = placed.size() + 1;
    file.resize(shoff + shnum * shentsize, '\0');
    for (std::size_t i = 0; i < placed.size(); ++i) {
      auto [name, offset, size] = placed[i];
      std::size_t at = shoff + (i + 1) * shentsize;
      put(file, at, name, 4);
      put(file, at + 4, 1, 4);  // PROGBITS
      put(file, at + (is64 ? 0x18 : 0x10), offset, is64 ? 8 : 4);
      put(file, at + (is64 ? 0x20 : 0x14), size, is64 ? 8 : 4);
    }
    put(file, is64 ? 0x28 : 0x20, shoff, is64 ? 8 : 4);
    put(file, is64 ? 0x3A : 0x2E, shentsize, 2);
    put(file, is64 ? 0x3C : 0x30, shnum, 2);
    put(file, is64 ? 0x3E : 0x32, shnum - 1, 2);
    return file;
  }
};

// An ELF file carrying `descriptor` in the .harmony_plugin section.
inline std::string elf_with_descriptor(const std::string& descriptor) {
  return ElfBuilder{true, false, {{".text", "code"}, {".harmony_plugin", descriptor}}}.build();
}

}  // namespace harmony::testing
