#include "args.hpp"

#include <algorithm>

#include <harmony/base/suggest.hpp>

namespace harmony::dispatcher {
namespace {

constexpr FlagSpec help_flag{"help", 'h', {}, "show this help"};

const FlagSpec* find_long(std::span<const FlagSpec> flags, std::string_view name) {
  if (name == help_flag.long_name) return &help_flag;
  for (const auto& f : flags)
    if (f.long_name == name) return &f;
  return nullptr;
}

const FlagSpec* find_short(std::span<const FlagSpec> flags, char name) {
  if (name == help_flag.short_name) return &help_flag;
  for (const auto& f : flags)
    if (f.short_name != 0 && f.short_name == name) return &f;
  return nullptr;
}

base::Error unknown_flag(std::string_view flag, std::span<const FlagSpec> flags, std::string_view command) {
  std::vector<std::string> known{"--help"};
  for (const auto& f : flags) known.push_back("--" + std::string(f.long_name));
  auto close = base::suggest(flag, known, 1);
  return base::usage_error("unknown flag '" + base::printable(flag) + "' for '" + std::string(command) + "'", {},
                           close.empty() ? "run '" + std::string(command) + " --help'"
                                         : "did you mean '" + close.front() + "'?");
}

base::Error missing_value(const FlagSpec& f, std::string_view command) {
  return base::usage_error("the flag --" + std::string(f.long_name) + " needs a value (" + std::string(f.value_name) + ")",
                           {}, "run '" + std::string(command) + " --help'");
}

}  // namespace

int ParsedArgs::count(std::string_view name) const {
  return static_cast<int>(std::count_if(flags.begin(), flags.end(), [&](const Flag& f) { return f.name == name; }));
}

std::optional<std::string> ParsedArgs::last(std::string_view name) const {
  for (auto it = flags.rbegin(); it != flags.rend(); ++it)
    if (it->name == name) return it->value;
  return std::nullopt;
}

base::expected<ParsedArgs> parse_args(std::span<const std::string> args, std::span<const FlagSpec> flags, Stop stop,
                                      std::string_view command) {
  ParsedArgs out;
  const bool stop_at_positional = stop != Stop::never;
  auto rest_from = [&](std::size_t i) { out.rest.assign(args.begin() + static_cast<long>(i), args.end()); };
  auto record = [&](const FlagSpec& f, std::string value) {
    if (&f == &help_flag)
      out.help = true;
    else
      out.flags.push_back({f.long_name, std::move(value)});
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "--") {
      if (stop_at_positional) {
        rest_from(i);
        return out;
      }
      out.positionals.insert(out.positionals.end(), args.begin() + static_cast<long>(i) + 1, args.end());
      return out;
    }
    if (arg.size() > 2 && arg.starts_with("--")) {
      std::string_view body = std::string_view(arg).substr(2);
      auto eq = body.find('=');
      std::string_view name = body.substr(0, eq);
      const FlagSpec* f = find_long(flags, name);
      if (f == nullptr && stop == Stop::at_positional_or_unknown) {
        rest_from(i);
        return out;
      }
      if (f == nullptr) return base::fail(unknown_flag(arg.substr(0, eq == std::string_view::npos ? arg.size() : eq + 2), flags, command));
      if (f->value_name.empty()) {
        if (eq != std::string_view::npos)
          return base::fail(base::usage_error("the flag --" + std::string(name) + " takes no value", {},
                                              "run '" + std::string(command) + " --help'"));
        record(*f, {});
      } else if (eq != std::string_view::npos) {
        record(*f, std::string(body.substr(eq + 1)));
      } else if (i + 1 < args.size()) {
        record(*f, args[++i]);
      } else {
        return base::fail(missing_value(*f, command));
      }
      continue;
    }
    if (arg.size() > 1 && arg.front() == '-') {
      // Bundled short flags: -vv, -vo json, -ojson.
      if (stop == Stop::at_positional_or_unknown &&
          std::any_of(arg.begin() + 1, arg.end(), [&](char c) { return find_short(flags, c) == nullptr; })) {
        rest_from(i);
        return out;
      }
      for (std::size_t j = 1; j < arg.size(); ++j) {
        const FlagSpec* f = find_short(flags, arg[j]);
        if (f == nullptr) return base::fail(unknown_flag("-" + std::string(1, arg[j]), flags, command));
        if (f->value_name.empty()) {
          record(*f, {});
          continue;
        }
        if (j + 1 < arg.size()) {
          record(*f, arg.substr(j + 1));
        } else if (i + 1 < args.size()) {
          record(*f, args[++i]);
        } else {
          return base::fail(missing_value(*f, command));
        }
        break;
      }
      continue;
    }
    if (stop_at_positional) {
      rest_from(i);
      return out;
    }
    out.positionals.push_back(arg);
  }
  return out;
}

std::string flags_help(std::span<const FlagSpec> flags) {
  std::vector<std::pair<std::string, std::string_view>> rows;
  std::size_t width = 0;
  auto add = [&](const FlagSpec& f) {
    std::string left = f.short_name ? std::string("  -") + f.short_name + ", " : std::string("      ");
    left += "--" + std::string(f.long_name);
    if (!f.value_name.empty()) left += " " + std::string(f.value_name);
    width = std::max(width, left.size());
    rows.emplace_back(std::move(left), f.help);
  };
  for (const auto& f : flags) add(f);
  add(help_flag);
  std::string out;
  for (auto& [left, help] : rows) out += left + std::string(width + 3 - left.size(), ' ') + std::string(help) + "\n";
  return out;
}

}  // namespace harmony::dispatcher
