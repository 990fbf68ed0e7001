#include <harmony/base/elf.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <limits>
#include <vector>

namespace harmony::base {
namespace {

// Section headers are read through this cap: a file claiming millions of
// sections is malformed, not a plugin.
constexpr std::uint64_t max_sections = 65535;
constexpr std::size_t max_name_table = 1 << 20;

struct Reader {
  const ReadAt& read;
  std::uint64_t file_size;
  bool big_endian = false;

  bool bytes(std::uint64_t offset, void* out, std::size_t length) const {
    if (offset > file_size || length > file_size - offset) return false;
    return read(offset, static_cast<char*>(out), length) == length;
  }
  std::uint64_t decode(const unsigned char* p, std::size_t width) const {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < width; ++i) {
      std::size_t index = big_endian ? i : width - 1 - i;
      v = (v << 8) | p[index];
    }
    return v;
  }
};

Error malformed(std::string reason) {
  return make_error("malformed ELF file", std::move(reason));
}

}  // namespace

expected<ElfSectionResult> read_elf_section(const ReadAt& read, std::uint64_t file_size, std::string_view name,
                                            std::size_t max_size) {
  Reader r{read, file_size};
  unsigned char ident[16];
  if (!r.bytes(0, ident, sizeof ident) || std::memcmp(ident, "\x7f" "ELF", 4) != 0) return ElfSectionResult{};

  const bool is64 = ident[4] == 2;
  if ((ident[4] != 1 && ident[4] != 2) || (ident[5] != 1 && ident[5] != 2))
    return fail(malformed("unknown ELF class or byte order"));
  r.big_endian = ident[5] == 2;

  // Offsets of e_shoff, e_shentsize, e_shnum, e_shstrndx in the file header.
  unsigned char header[64];
  const std::size_t header_size = is64 ? 64 : 52;
  if (!r.bytes(0, header, header_size)) return fail(malformed("the file header is truncated"));
  const std::uint64_t shoff = is64 ? r.decode(header + 0x28, 8) : r.decode(header + 0x20, 4);
  const std::uint64_t shentsize = r.decode(header + (is64 ? 0x3A : 0x2E), 2);
  std::uint64_t shnum = r.decode(header + (is64 ? 0x3C : 0x30), 2);
  std::uint64_t shstrndx = r.decode(header + (is64 ? 0x3E : 0x32), 2);
  const std::size_t entry_size = is64 ? 64 : 40;

  if (shoff == 0) return ElfSectionResult{ElfSection::absent, {}};  // no section table (sstrip)
  if (shentsize < entry_size) return fail(malformed("section header entries are too small"));

  auto section_header = [&](std::uint64_t index, unsigned char* out) {
    if (index > (std::numeric_limits<std::uint64_t>::max() - shoff) / shentsize) return false;
    return r.bytes(shoff + index * shentsize, out, entry_size);
  };
  unsigned char sh[64];
  // Extended numbering: counts that do not fit 16 bits live in section 0.
  if (shnum == 0 || shstrndx == 0xffff) {
    if (!section_header(0, sh)) return fail(malformed("the section table is outside the file"));
    if (shnum == 0) shnum = is64 ? r.decode(sh + 0x20, 8) : r.decode(sh + 0x14, 4);
    if (shstrndx == 0xffff) shstrndx = r.decode(sh + (is64 ? 0x28 : 0x18), 4);
  }
  if (shnum == 0) return ElfSectionResult{ElfSection::absent, {}};
  if (shnum > max_sections) return fail(malformed("too many sections"));
  if (shstrndx >= shnum) return fail(malformed("the section name table index is out of range"));

  struct Section {
    std::uint64_t name_offset, type, offset, size;
  };
  auto parse = [&](const unsigned char* p) {
    return is64 ? Section{r.decode(p, 4), r.decode(p + 4, 4), r.decode(p + 0x18, 8), r.decode(p + 0x20, 8)}
                : Section{r.decode(p, 4), r.decode(p + 4, 4), r.decode(p + 0x10, 4), r.decode(p + 0x14, 4)};
  };

  if (!section_header(shstrndx, sh)) return fail(malformed("the section name table is outside the file"));
  Section names = parse(sh);
  if (names.size > max_name_table) return fail(malformed("the section name table is too large"));
  std::vector<char> name_table(names.size);
  if (!name_table.empty() && !r.bytes(names.offset, name_table.data(), name_table.size()))
    return fail(malformed("the section name table is outside the file"));

  constexpr std::uint64_t sht_nobits = 8;
  for (std::uint64_t i = 0; i < shnum; ++i) {
    if (!section_header(i, sh)) return fail(malformed("the section table is outside the file"));
    Section s = parse(sh);
    if (s.name_offset >= name_table.size()) continue;
    const char* start = name_table.data() + s.name_offset;
    std::size_t available = name_table.size() - s.name_offset;
    std::size_t length = strnlen(start, available);
    if (length == available || std::string_view(start, length) != name) continue;

    if (s.type == sht_nobits) return fail(malformed("section " + std::string(name) + " has no contents"));
    if (s.size > max_size)
      return fail(make_error("section " + std::string(name) + " is too large",
                             std::to_string(s.size) + " bytes; the limit is " + std::to_string(max_size)));
    ElfSectionResult result{ElfSection::found, std::string(s.size, '\0')};
    if (s.size > 0 && !r.bytes(s.offset, result.contents.data(), result.contents.size()))
      return fail(malformed("section " + std::string(name) + " points outside the file"));
    return result;
  }
  return ElfSectionResult{ElfSection::absent, {}};
}

expected<ElfSectionResult> read_elf_section_from_file(const std::string& path, std::string_view name,
                                                      std::size_t max_size) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) return fail(os_error(errno, "cannot read '" + printable(path) + "'"));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail(os_error(errno, "cannot read '" + printable(path) + "'"));
  if (!S_ISREG(st.st_mode)) return ElfSectionResult{};
  ReadAt read = [fd](std::uint64_t offset, char* buffer, std::size_t length) -> std::size_t {
    std::size_t done = 0;
    while (done < length) {
      ssize_t n = ::pread(fd, buffer + done, length - done, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    return done;
  };
  return read_elf_section(read, static_cast<std::uint64_t>(st.st_size), name, max_size);
}

}  // namespace harmony::base
