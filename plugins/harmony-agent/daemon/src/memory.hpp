#pragma once
// Giving back what only start-up needed (docs/adr/0011-agent-footprint.md).

namespace harmony::agent::daemon {

// Returns the freed heap to the kernel and asks it to reclaim the pages of
// read-only file mappings (library code and constants) that this process
// alone holds: OpenSSL's initialisation, YAML parsing and the like are never
// run again. Pages still in use fault back in from the page cache. Best
// effort: does nothing where the kernel does not support it.
void release_startup_memory();

}  // namespace harmony::agent::daemon
