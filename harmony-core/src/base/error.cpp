#include <harmony/base/error.hpp>

#include <cstring>

namespace harmony::base {

Error make_error(std::string message, std::string reason, std::string hint) {
  Error e;
  e.message = std::move(message);
  e.reason = std::move(reason);
  e.hint = std::move(hint);
  return e;
}

Error usage_error(std::string message, std::string reason, std::string hint) {
  Error e = make_error(std::move(message), std::move(reason), std::move(hint));
  e.status = exit_status::usage;
  return e;
}

Error os_error(int err, std::string message, std::string hint) {
  Error e = make_error(std::move(message), std::strerror(err), std::move(hint));
  e.os_errno = err;
  return e;
}

std::string render_error(const Error& error, std::string_view program, bool color) {
  const char* bold_red = color ? "\033[1;31m" : "";
  const char* bold = color ? "\033[1m" : "";
  const char* reset = color ? "\033[0m" : "";
  std::string out;
  out.append(program).append(": ").append(bold_red).append("error:").append(reset).append(" ");
  out.append(error.message).append("\n");
  if (!error.reason.empty()) out.append("  ").append(bold).append("reason:").append(reset).append(" ").append(error.reason).append("\n");
  if (!error.hint.empty()) out.append("  ").append(bold).append("hint:").append(reset).append(" ").append(error.hint).append("\n");
  return out;
}

namespace {

// C0 controls, DEL, and the C1 controls U+0080-U+009F as UTF-8 (0xC2 0x80-0x9F):
// terminals act on U+009B (CSI) and U+009D (OSC) as on ESC [ and ESC ].
std::string filtered(std::string_view text, bool keep_lines) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto u = static_cast<unsigned char>(text[i]);
    if (u == 0xc2 && i + 1 < text.size()) {
      const auto next = static_cast<unsigned char>(text[i + 1]);
      if (next >= 0x80 && next <= 0x9f) {
        out.push_back('?');
        ++i;
        continue;
      }
    }
    const bool line = keep_lines && (text[i] == '\n' || text[i] == '\t');
    out.push_back((u < 0x20 && !line) || u == 0x7f ? '?' : text[i]);
  }
  return out;
}

}  // namespace

std::string printable(std::string_view text) { return filtered(text, false); }

std::string printable_lines(std::string_view text) { return filtered(text, true); }

}  // namespace harmony::base
