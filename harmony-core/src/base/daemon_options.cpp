#include <harmony/base/daemon_options.hpp>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include <harmony/base/error.hpp>
#include <harmony/base/text.hpp>
#include <harmony/base/time.hpp>

namespace harmony::base {

std::string DaemonOptions::get(const std::string& flag, std::string fallback) const {
  auto it = values.find(flag);
  return it == values.end() ? fallback : it->second;
}

expected<DaemonOptions> parse_daemon_options(int argc, char** argv, std::span<const std::string_view> flags,
                                             std::string_view env_prefix, std::string_view program) {
  const std::string hint = "run '" + std::string(program) + " --help'";
  DaemonOptions out;
  for (std::string_view flag : flags) {
    std::string name(env_prefix);
    for (char c : flag.substr(2)) name += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (const char* v = std::getenv(name.c_str())) out.values[std::string(flag)] = v;
  }
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--version") {
      out.version = true;
      continue;
    }
    if (a == "-h" || a == "--help") {
      out.help = true;
      continue;
    }
    std::string value;
    if (auto eq = a.find('='); eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return fail(usage_error(a + " needs a value", {}, hint));
    }
    if (std::find(flags.begin(), flags.end(), a) == flags.end())
      return fail(usage_error("unknown option '" + printable(a) + "'", {}, hint));
    out.values[a] = value;
  }
  return out;
}

void log_line(std::string_view level, std::string_view message) {
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  std::fprintf(stderr, "%s %.*s %.*s\n", rfc3339_now().c_str(), static_cast<int>(level.size()), level.data(),
               static_cast<int>(message.size()), message.data());
  std::fflush(stderr);
}

}  // namespace harmony::base
