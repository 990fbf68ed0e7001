#pragma once
// The dispatcher's command-line parser: a flag table per command, GNU-style
// spellings (-v, -vv, -o json, -ojson, --output json, --output=json, --),
// usage errors with "did you mean", and help text from the same table.
//
// Why not CLI11, which the SDK's plugin runner uses: CLI11 includes
// <iostream>, whose static initialiser (the locale and eight standard
// streams) runs at every start and costs the dispatcher ~17 page faults,
// about a tenth of `harmony foo`. See docs/adr/0004-lean-dispatcher.md.

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <harmony/base/expected.hpp>

namespace harmony::dispatcher {

struct FlagSpec {
  std::string_view long_name;  // without "--"
  char short_name = 0;         // 0: none
  std::string_view value_name; // empty: a switch (may repeat); else takes one value
  std::string_view help;
};

struct ParsedArgs {
  struct Flag {
    std::string_view name;  // FlagSpec::long_name
    std::string value;
  };
  std::vector<Flag> flags;              // in command-line order
  std::vector<std::string> positionals;
  std::vector<std::string> rest;        // after the first positional, when stopping there
  bool help = false;                    // -h or --help was given

  [[nodiscard]] int count(std::string_view name) const;
  [[nodiscard]] std::optional<std::string> last(std::string_view name) const;
};

// The global flags: only before the first word (docs/plugin-protocol.md).
inline constexpr FlagSpec global_flags[] = {
    {"verbose", 'v', {}, "more output; repeat for more (HARMONY_VERBOSE)"},
    {"output", 'o', "FORMAT", "text or json (HARMONY_OUTPUT)"},
    {"no-color", 0, {}, "no colors; NO_COLOR is honoured too (HARMONY_NO_COLOR)"},
    {"version", 0, {}, "print harmony's version"},
};

// Where parsing stops. `at_positional`: the first positional and everything
// after it go to `rest` untouched (how `which` takes its command). With
// `at_unknown` too, so does the first unknown flag (how global flags stop at
// the first word, and the caller names the unknown flag).
enum class Stop { never, at_positional, at_positional_or_unknown };

// Parses `args` against `flags` (plus -h/--help). `command` names the
// command in error hints ("harmony plugin list").
base::expected<ParsedArgs> parse_args(std::span<const std::string> args, std::span<const FlagSpec> flags, Stop stop,
                                      std::string_view command);

// "  -o, --output FORMAT    text or json" lines for a help text.
std::string flags_help(std::span<const FlagSpec> flags);

}  // namespace harmony::dispatcher
