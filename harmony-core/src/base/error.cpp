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

std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? '?' : c);
  }
  return out;
}

std::string printable_lines(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    out.push_back((u < 0x20 && c != '\n' && c != '\t') || u == 0x7f ? '?' : c);
  }
  return out;
}

}  // namespace harmony::base
