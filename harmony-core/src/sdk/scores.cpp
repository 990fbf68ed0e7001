// The non-template parts of the core Scores.

#include <harmony/scores/local_process.hpp>

#include <charconv>

namespace harmony::scores {

base::expected<std::string> expand_placeholders(std::string_view text, FileStore& files, RunContext& ctx) {
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    auto open = text.find('{', i);
    if (open == std::string_view::npos) break;
    auto close = text.find('}', open);
    if (close == std::string_view::npos) break;
    out.append(text.substr(i, open - i));
    const std::string_view placeholder = text.substr(open + 1, close - open - 1);
    const auto colon = placeholder.find(':');
    const std::string_view kind = placeholder.substr(0, colon);
    const std::string_view name = colon == std::string_view::npos ? std::string_view() : placeholder.substr(colon + 1);
    if (kind == "file" && !name.empty()) {
      out += files.file_path(ctx.component, name);
    } else if (kind == "credential" && !name.empty()) {
      out += files.credential_path(ctx.component, name);
    } else if (kind == "data" && !name.empty()) {
      auto dir = files.data_dir(ctx, name);
      if (!dir) return base::fail(dir.error());
      out += *dir;
    } else if (kind == "work" && colon == std::string_view::npos) {
      out += files.work_dir(ctx.component);
    } else {
      return base::fail(base::make_error("unknown placeholder '{" + std::string(placeholder) + "}'",
                                         "known: {file:NAME}, {credential:NAME}, {data:NAME}, {work}",
                                         "this is a bug in the plugin; report it to its authors"));
    }
    i = close + 1;
  }
  out.append(text.substr(std::min(i, text.size())));
  return out;
}

base::expected<PortBinding> parse_port_binding(const std::string& name, const std::string& text) {
  PortBinding binding;
  binding.name = name;
  std::string_view port = text;
  if (auto colon = text.rfind(':'); colon != std::string::npos) {
    binding.address = text.substr(0, colon);
    port = std::string_view(text).substr(colon + 1);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535)
    return base::fail(base::make_error("invalid port '" + base::printable(text) + "' for " + name,
                                       "a port is 1-65535, optionally after an address: 4222 or 0.0.0.0:4222"));
  binding.port = static_cast<std::uint16_t>(value);
  return binding;
}

}  // namespace harmony::scores
