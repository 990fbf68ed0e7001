#pragma once
// Reads one named section out of an ELF file without loading or running it.
// Works on 32- and 64-bit, little- and big-endian files, and treats every
// offset in the file as hostile: nothing is read outside the file and nothing
// larger than the caller's limit is returned.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <harmony/base/expected.hpp>

namespace harmony::base {

// Fills `buffer` with up to `length` bytes at `offset`; returns how many bytes
// it read (fewer at the end of the file).
using ReadAt = std::function<std::size_t(std::uint64_t offset, char* buffer, std::size_t length)>;

enum class ElfSection { found, not_elf, absent };

struct ElfSectionResult {
  ElfSection state = ElfSection::not_elf;
  std::string contents;  // when state == found
};

// Errors: the file is ELF but its section table is malformed, or the section
// is larger than `max_size`.
expected<ElfSectionResult> read_elf_section(const ReadAt& read, std::uint64_t file_size,
                                            std::string_view name, std::size_t max_size);

// The same, on a file opened by path.
expected<ElfSectionResult> read_elf_section_from_file(const std::string& path, std::string_view name,
                                                      std::size_t max_size);

}  // namespace harmony::base
