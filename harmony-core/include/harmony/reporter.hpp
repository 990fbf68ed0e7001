#pragma once
// Progress of a multi-component operation (deploy, destroy). Three renderers:
// on a terminal one live line per component (pending, running, ready, failed,
// elapsed); plain lines otherwise; with -o json one JSON object per line,
// ending with a summary object. docs/sdk.md shows each.

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace harmony {

enum class Phase { pending, running, checking, ready, unchanged, failed, skipped, removed };
std::string_view phase_name(Phase phase);

struct Summary {
  std::string operation;  // "deploy", "destroy"
  bool ok = true;
  int exit_status = 0;
  std::string message;  // one line
  std::vector<std::string> next_steps;
};

class Reporter {
 public:
  virtual ~Reporter() = default;
  virtual void start(std::string_view operation, const std::vector<std::string>& components) = 0;
  virtual void phase(std::string_view component, Phase phase, std::string_view message) = 0;
  virtual void note(std::string_view component, std::string_view text) = 0;
  // Something the user should know even without -v (stderr; a "warning" event in JSON).
  virtual void warn(std::string_view component, std::string_view text) = 0;
  virtual void finish(const Summary& summary) = 0;
};

enum class ReporterKind { live, plain, json };

struct ReporterOptions {
  ReporterKind kind = ReporterKind::plain;
  bool color = false;
  int verbose = 0;
};

// Writes to stdout.
std::unique_ptr<Reporter> make_reporter(const ReporterOptions& options);

}  // namespace harmony
