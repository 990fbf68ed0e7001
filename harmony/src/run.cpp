#include "run.hpp"

#include <cstdio>
#include <cstdlib>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <harmony/base/paths.hpp>
#include <harmony/base/suggest.hpp>

#include "completion.hpp"
#include "context.hpp"
#include "dispatch.hpp"
#include "listing.hpp"
#include "metadata.hpp"

namespace harmony::dispatcher {
namespace {

// Set once the global flags are parsed, for the error printer.
bool no_color_requested = false;

const char* env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr && value[0] != '\0' ? value : nullptr;
}

OutputFormat parse_format(const std::string& text, const char* where) {
  if (text == "text") return OutputFormat::text;
  if (text == "json") return OutputFormat::json;
  raise(base::usage_error(std::string(where) + " must be 'text' or 'json', not '" + base::printable(text) + "'"));
}

// Turns CLI11's parse errors into our usage errors.
[[noreturn]] void usage_from(const CLI::ParseError& e, const std::string& command) {
  std::string what = e.what();
  raise(base::usage_error(what.empty() ? "invalid arguments" : what, {}, "run '" + command + " --help'"));
}

// Parses a built-in's own arguments. Returns false when --help was printed.
bool parse_builtin(CLI::App& app, std::span<const std::string> args, const std::string& command) {
  std::vector<std::string> reversed(args.rbegin(), args.rend());
  try {
    app.parse(reversed);
  } catch (const CLI::CallForHelp&) {
    print(app.help());
    return false;
  } catch (const CLI::ParseError& e) {
    usage_from(e, command);
  }
  return true;
}

// Adds `-o/--output` to a built-in: its own flag, overriding the global one.
void add_output_option(CLI::App& app, Context& ctx, std::string& value) {
  app.add_option("-o,--output", value, "text or json")->check(CLI::IsMember({"text", "json"}));
  app.final_callback([&ctx, &value] {
    if (!value.empty()) ctx.options.output = parse_format(value, "-o");
  });
}

int run_builtin(Context& ctx, const std::string& name, std::span<const std::string> args) {
  const std::string command = "harmony " + name;
  std::string output;
  if (name == "plugin") {
    CLI::App app{"List the plugins in the plugin path, or describe one.", command};
    app.require_subcommand(1);
    bool name_only = false;
    auto* list = app.add_subcommand("list", "list the plugins: what runs, and every problem found");
    list->add_flag("--name-only", name_only, "print only the commands, one per line");
    add_output_option(*list, ctx, output);
    std::vector<std::string> words;
    auto* info = app.add_subcommand("info", "describe one plugin: its descriptor, path and problems");
    info->add_option("name", words, "the plugin's command words, or its file name")->required();
    add_output_option(*info, ctx, output);
    if (!args.empty() && !args.front().starts_with("-") && args.front() != "list" && args.front() != "info") {
      auto close = base::suggest(args.front(), {"list", "info"});
      raise(base::usage_error("unknown command 'harmony plugin " + base::printable(args.front()) + "'",
                              "'harmony plugin' has the subcommands list and info",
                              close.empty() ? "run 'harmony plugin --help'" : "did you mean 'harmony plugin " + close.front() + "'?"));
    }
    if (!parse_builtin(app, args, command)) return 0;
    return list->parsed() ? plugin_list(ctx, name_only) : plugin_info(ctx, words);
  }
  if (name == "which") {
    CLI::App app{"Show what a command runs, what it shadows, and which candidates were skipped and why.\n"
                 "usage: harmony which [-o json] <command words> [args...]",
                 command};
    // Everything from the first word on is the command, flags included.
    app.prefix_command();
    add_output_option(app, ctx, output);
    if (!parse_builtin(app, args, command)) return 0;
    return which(ctx, app.remaining());
  }
  if (name == "completion") {
    CLI::App app{"Print the completion script for a shell.\n"
                 "  bash: source <(harmony completion bash)\n"
                 "  zsh:  source <(harmony completion zsh)\n"
                 "  fish: harmony completion fish | source",
                 command};
    std::string shell;
    app.add_option("shell", shell, "bash, zsh or fish")->required();
    if (!parse_builtin(app, args, command)) return 0;
    print(completion_script(shell));
    return 0;
  }
  if (name == "version") {
    CLI::App app{"Print harmony's version and the plugin protocol it speaks.", command};
    add_output_option(app, ctx, output);
    if (!parse_builtin(app, args, command)) return 0;
    return version(ctx);
  }
  // help
  CLI::App app{"Show the overview, or a command's help.", command};
  std::vector<std::string> words;
  app.add_option("command", words, "a built-in command, a lifecycle verb or a plugin");
  add_output_option(app, ctx, output);
  if (!parse_builtin(app, args, command)) return 0;
  if (words.empty()) return help_overview(ctx);
  if (is_lifecycle_verb(words.front())) {
    print_verb_help(ctx, words.front());
    return 0;
  }
  if (is_builtin(words.front())) {
    std::vector<std::string> help_args{"--help"};
    return run_builtin(ctx, words.front(), help_args);
  }
  // A plugin's help is the plugin's own: harmony-<words> --help.
  std::vector<std::string> plugin_args = words;
  plugin_args.push_back("--help");
  dispatch(ctx, plugin_args);
}

GlobalOptions parse_global_options(int argc, char** argv) {
  GlobalOptions options;
  if (const char* v = env("HARMONY_OUTPUT")) options.output = parse_format(v, "HARMONY_OUTPUT");
  if (const char* v = env("HARMONY_VERBOSE")) options.verbose = std::max(0, std::atoi(v));
  if (const char* v = env("HARMONY_NO_COLOR")) options.no_color = std::string_view(v) != "0";
  if (env("NO_COLOR")) options.no_color = true;

  // Global flags stand before the first word; parsing stops there and the
  // rest goes to the command untouched. Without a leading flag there is
  // nothing to parse: the dispatch hot path skips building a parser.
  if (argc < 2 || argv[1][0] != '-') {
    options.rest.assign(argv + std::min(argc, 1), argv + argc);
    return options;
  }
  CLI::App app{"harmony"};
  app.prefix_command();
  app.set_help_flag();
  int verbose = 0;
  std::string output;
  bool no_color = false;
  app.add_flag("-v,--verbose", verbose);
  app.add_option("-o,--output", output);
  app.add_flag("--no-color", no_color);
  app.add_flag("-h,--help", options.help);
  app.add_flag("--version", options.version);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    usage_from(e, "harmony");
  }
  options.rest = app.remaining();
  if (!options.rest.empty() && options.rest.front().starts_with("-") && options.rest.front() != "--") {
    const std::string& flag = options.rest.front();
    raise(base::usage_error("unknown global flag '" + base::printable(flag) + "'",
                            "only -v/--verbose, -o/--output, --no-color, -h/--help and --version may come before the command",
                            "a plugin's own flags go after its name: harmony <plugin> " + base::printable(flag)));
  }
  if (verbose > 0) options.verbose = verbose;
  if (!output.empty()) options.output = parse_format(output, "-o");
  if (no_color) options.no_color = true;
  return options;
}

int run_command(int argc, char** argv) {
  Context ctx;
  ctx.options = parse_global_options(argc, argv);
  no_color_requested = ctx.options.no_color;
  ctx.fs = &real_filesystem();
  const char* plugin_path = std::getenv("HARMONY_PLUGIN_PATH");
  const char* path = std::getenv("PATH");
  ctx.search_path = make_search_path(plugin_path ? std::optional<std::string_view>(plugin_path) : std::nullopt,
                                     path ? std::optional<std::string_view>(path) : std::nullopt);
  if (const char* v = env("HARMONY_ALLOW_INSECURE_PATH")) ctx.policy.allow_insecure = std::string_view(v) == "1";
  ctx.cache_dir = default_cache_dir();
  ctx.self = base::self_executable();

  const auto& rest = ctx.options.rest;
  if (ctx.options.version) return version(ctx);
  if (ctx.options.help || rest.empty()) return help_overview(ctx);
  const std::string& first = rest.front();
  std::span<const std::string> tail(rest.begin() + 1, rest.end());
  if (first == "__complete") return complete_request(ctx, tail);
  if (is_lifecycle_verb(first)) return dispatch_lifecycle(ctx, first, tail);
  if (is_builtin(first)) return run_builtin(ctx, first, tail);
  dispatch(ctx, rest);
}

}  // namespace

void print(std::string_view text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

void trace(const Context& ctx, int level, std::string_view text) {
  if (ctx.options.verbose < level) return;
  std::string line(text);
  line += '\n';
  std::fputs(line.c_str(), stderr);
}

int run(int argc, char** argv) {
  try {
    return run_command(argc, argv);
  } catch (const base::Error& e) {
    const bool color = !no_color_requested && !env("NO_COLOR") && ::isatty(STDERR_FILENO);
    std::string text = base::render_error(e, "harmony", color);
    std::fputs(text.c_str(), stderr);
    return e.status;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "harmony: error: internal error: %s\n", e.what());
    return base::exit_status::failure;
  }
}

}  // namespace harmony::dispatcher
