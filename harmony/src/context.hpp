#pragma once
// What every command of the dispatcher works with: the global options, the
// environment it was started in, and the seams (file system, cache).

#include <optional>
#include <span>
#include <string>
#include <vector>

#include <harmony/base/error.hpp>

#include "discovery.hpp"
#include "filesystem.hpp"

namespace harmony::dispatcher {

enum class OutputFormat { text, json };

// The global flags, which stand only before the first word.
struct GlobalOptions {
  int verbose = 0;
  OutputFormat output = OutputFormat::text;
  bool no_color = false;
  bool help = false;
  bool version = false;
  std::vector<std::string> rest;  // from the first word on
};

struct Context {
  GlobalOptions options;
  const FileSystem* fs = nullptr;
  SearchPath search_path;
  Policy policy;
  std::optional<std::string> cache_dir;
  std::string self;  // absolute path of this harmony, for HARMONY_BIN

  [[nodiscard]] bool json() const { return options.output == OutputFormat::json; }
};

// Commands abort by throwing an Error; run() is the one place that prints it.
[[noreturn]] inline void raise(base::Error error) { throw error; }

// Writes text to stdout in one call.
void print(std::string_view text);
// A line to stderr when -v was given at least `level` times.
void trace(const Context& ctx, int level, std::string_view text);

}  // namespace harmony::dispatcher
