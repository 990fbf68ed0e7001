#include "memory.hpp"

#include <cinttypes>
#include <cstdio>
#include <malloc.h>
#include <sys/mman.h>

namespace harmony::agent::daemon {

void release_startup_memory() {
  malloc_trim(0);
#ifdef MADV_PAGEOUT
  std::FILE* maps = std::fopen("/proc/self/maps", "re");
  if (maps == nullptr) return;
  char line[4096];
  while (std::fgets(line, sizeof line, maps) != nullptr) {
    std::uintptr_t start = 0, end = 0;
    char perms[8] = {};
    unsigned long long offset = 0, inode = 0;
    char device[32] = {};
    if (std::sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s %llx %31s %llu", &start, &end, perms, &offset, device, &inode) != 6)
      continue;
    // File-backed and not writable: clean pages the kernel can always read again.
    if (inode == 0 || perms[1] == 'w') continue;
    ::madvise(reinterpret_cast<void*>(start), end - start, MADV_PAGEOUT);
  }
  std::fclose(maps);
#endif
}

}  // namespace harmony::agent::daemon
