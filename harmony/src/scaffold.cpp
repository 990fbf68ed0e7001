#include "scaffold.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include <harmony/base/exit_status.hpp>
#include <harmony/base/files.hpp>
#include <harmony/base/paths.hpp>

#include "filesystem.hpp"

namespace harmony::dispatcher {
namespace {

// The template's own name, in the three spellings it uses.
constexpr std::string_view template_name = "myapp";
constexpr std::string_view template_camel = "MyApp";
constexpr std::string_view template_upper = "MYAPP";

// A plugin name one word long: it becomes the file harmony-<name>, a C++
// namespace, a CMake target and a settings key, so letters and digits only.
void validate(const std::string& name) {
  const bool shaped = !name.empty() && name.size() <= 32 && name.front() >= 'a' && name.front() <= 'z' &&
                      std::all_of(name.begin(), name.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); });
  if (!shaped)
    raise(base::usage_error("'" + base::printable(name) + "' is not a name for a new plugin",
                            "it must be 1-32 lowercase letters and digits, starting with a letter: it names the file "
                            "harmony-<name>, a C++ namespace, a CMake target and its settings",
                            "for example: harmony plugin new shop"));
  for (const char* reserved : {"plugin", "completion", "version", "help", "which", "deploy", "destroy", "status", "plan"})
    if (name == reserved)
      raise(base::usage_error("'" + name + "' is a harmony built-in", "a plugin of that name could never run",
                              "choose another name"));
}

std::string replace_all(std::string text, std::string_view from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) text.replace(at, from.size(), to);
  return text;
}

struct Names {
  std::string lower, camel, upper;
  [[nodiscard]] std::string apply(std::string text) const {
    text = replace_all(std::move(text), template_camel, camel);
    text = replace_all(std::move(text), template_upper, upper);
    return replace_all(std::move(text), template_name, lower);
  }
};

bool is_dir(const FileSystem& fs, const std::string& path) {
  auto st = fs.stat(path);
  return st && st->type == FileStat::Type::directory;
}

// Where the template is: $HARMONY_SDK_TEMPLATE, else beside this harmony
// (<prefix>/bin/harmony -> <prefix>/share/harmony/sdk/template), else where
// this build installs it.
std::string find_template(const Context& ctx) {
  std::vector<std::string> tried;
  if (const char* forced = std::getenv("HARMONY_SDK_TEMPLATE"); forced != nullptr && forced[0] != '\0') {
    if (is_dir(*ctx.fs, forced)) return forced;
    tried.emplace_back(forced);
  } else {
    auto self = ctx.fs->real_path(ctx.self);
    if (self) {
      const std::string beside = base::join_path(base::parent_dir(base::parent_dir(*self)), "share/harmony/sdk/template");
      if (is_dir(*ctx.fs, beside)) return beside;
      tried.push_back(beside);
    }
    const std::string installed = HARMONY_INSTALL_DATADIR "/harmony/sdk/template";
    if (is_dir(*ctx.fs, installed)) return installed;
    tried.push_back(installed);
  }
  std::string where;
  for (const auto& t : tried) where += (where.empty() ? "" : ", ") + t;
  base::Error e = base::make_error("cannot find the plugin template", "looked in " + where,
                                   "install the SDK (the harmony-sdk package), or set HARMONY_SDK_TEMPLATE to its template directory");
  raise(std::move(e));
}

// The template's files, relative to its root, skipping build output.
void collect(const FileSystem& fs, const std::string& root, const std::string& relative, std::vector<std::string>& out) {
  const std::string dir = relative.empty() ? root : base::join_path(root, relative);
  auto names = fs.list(dir);
  if (!names) raise(names.error());
  std::sort(names->begin(), names->end());
  for (const auto& name : *names) {
    if (name == "build" || name == ".git") continue;
    const std::string rel = relative.empty() ? name : relative + "/" + name;
    auto st = fs.lstat(base::join_path(root, rel));
    if (!st) raise(st.error());
    if (st->type == FileStat::Type::directory)
      collect(fs, root, rel, out);
    else if (st->type == FileStat::Type::regular)
      out.push_back(rel);
  }
}

std::string absolute(const std::string& path) {
  if (path.starts_with("/")) return path;
  std::string here(4096, '\0');
  if (::getcwd(here.data(), here.size()) == nullptr) return path;
  here.resize(std::char_traits<char>::length(here.c_str()));
  std::string rel = path;
  while (rel.starts_with("./")) rel.erase(0, 2);
  return base::join_path(here, rel);
}

}  // namespace

int plugin_new(const Context& ctx, const std::string& name, const std::optional<std::string>& dir) {
  validate(name);
  Names names{name, name, name};
  names.camel[0] = static_cast<char>(names.camel[0] - 'a' + 'A');
  std::transform(names.upper.begin(), names.upper.end(), names.upper.begin(), [](char c) {
    return c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
  });

  const std::string target = dir.value_or("harmony-" + name);
  if (auto existing = ctx.fs->list(target); existing && !existing->empty()) {
    base::Error e = base::make_error("'" + base::printable(target) + "' exists and is not empty",
                                     "harmony plugin new never writes over files", "choose another directory with --dir");
    raise(std::move(e));
  }
  const std::string source = find_template(ctx);
  std::vector<std::string> files;
  collect(*ctx.fs, source, "", files);

  std::vector<std::string> written;
  for (const auto& rel : files) {
    const std::string from = base::join_path(source, rel);
    auto content = base::read_file(from);
    if (!content) raise(content.error());
    auto st = ctx.fs->stat(from);
    const mode_t mode = st && (st->mode & 0111) ? 0755 : 0644;
    // Kept without its dot in the template: a packaged dot-file under
    // /usr/share is a packaging error.
    const std::string out_rel = rel == "gitignore" ? ".gitignore" : names.apply(rel);
    const std::string to = base::join_path(target, out_rel);
    if (auto made = base::make_directories(base::parent_dir(to)); !made) raise(made.error());
    if (auto ok = base::write_file_atomically(to, names.apply(*content), mode); !ok) raise(ok.error());
    written.push_back(out_rel);
  }

  // The prefix the template belongs to, for CMAKE_PREFIX_PATH.
  std::string prefix = source;
  for (int i = 0; i < 4; ++i) prefix = base::parent_dir(prefix);
  if (ctx.json()) {
    nlohmann::json doc = {{"plugin", name}, {"directory", target}, {"template", source}, {"files", written}};
    print(doc.dump(2) + "\n");
    return 0;
  }
  std::string out = "created harmony-" + name + " in " + target + " (" + std::to_string(written.size()) +
                    " files, from " + source + ")\n\nnext:\n";
  const std::string prefix_flag = prefix == "/usr" ? "" : " -DCMAKE_PREFIX_PATH=" + prefix;
  out += "  cmake -S " + target + " -B " + target + "/build" + prefix_flag + "\n";
  out += "  cmake --build " + target + "/build\n";
  out += "  ctest --test-dir " + target + "/build\n";
  // The dispatcher never searches relative PATH entries (a plugin must not
  // depend on the current directory), so the printed entry is absolute.
  out += "  PATH=" + absolute(target) + "/build:$PATH harmony deploy " + name + " --topology local\n";
  print(out);
  return 0;
}

}  // namespace harmony::dispatcher
