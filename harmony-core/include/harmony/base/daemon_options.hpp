#pragma once
// Command-line options of the lean daemons (fleet-operator, fleet-callout),
// which do not link CLI11: `--name VALUE` or `--name=VALUE`, each also read
// from the environment as <PREFIX><NAME> (--nats-urls with prefix
// FLEET_OPERATOR_: FLEET_OPERATOR_NATS_URLS); the command line wins. And the
// one-line log they write to stderr.

#include <map>
#include <span>
#include <string>
#include <string_view>

#include <harmony/base/expected.hpp>

namespace harmony::base {

struct DaemonOptions {
  std::map<std::string, std::string> values;  // by flag, "--nats-urls"
  bool help = false;
  bool version = false;
  [[nodiscard]] std::string get(const std::string& flag, std::string fallback = {}) const;
};

// Errors are usage errors naming the option, with the hint to run
// `<program> --help`.
expected<DaemonOptions> parse_daemon_options(int argc, char** argv, std::span<const std::string_view> flags,
                                             std::string_view env_prefix, std::string_view program);

// "<RFC 3339 time> <level> <message>" on stderr, one whole line at a time
// from any thread.
void log_line(std::string_view level, std::string_view message);

}  // namespace harmony::base
