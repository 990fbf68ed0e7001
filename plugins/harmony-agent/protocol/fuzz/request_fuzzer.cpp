// libFuzzer target for the wire contract's decoders, on both sides of the
// wire: the agent decodes requests from anyone who may publish to its
// subjects, and `harmony agent` decodes replies and heartbeats from devices.
// Whatever arrives, decoding returns a value or a Failure and never crashes
// or reads out of bounds (built with AddressSanitizer and UBSan by
// run_fuzzer.sh, with leak checks where LeakSanitizer can run; see that script).
//
// Input layout: the first line is the subject's last token (the verb as
// sent), the rest is the request's payload. The whole input is also fed to
// every reply decoder and to the heartbeat decoder.
//
// Properties checked beyond "no crash": a decoded exec request re-encodes to
// the same argv, and a decoded reply re-encodes to a fixed point (decoding
// what we encoded gives back the same bytes).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <harmony/agent/protocol.hpp>

namespace {

using namespace harmony::agent;

template <class T>
void round_trip(harmony::base::expected<T, Failure> (*decode)(std::string_view), std::string_view input) {
  auto first = decode(input);
  if (!first) {
    (void)encode(first.error());
    return;
  }
  const std::string once = encode(*first);
  auto second = decode(once);
  if (!second || encode(*second) != once) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  const std::string_view token = input.substr(0, newline);
  const std::string_view payload = newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);

  if (auto request = decode_request(token, payload)) {
    if (const auto* exec = std::get_if<ExecRequest>(&request->body)) {
      auto again = decode_request("exec", encode_request(*exec));
      if (!again || std::get<ExecRequest>(again->body).argv != exec->argv) __builtin_trap();
    }
  } else {
    (void)encode(request.error());
  }
  round_trip(decode_ping_reply, input);
  round_trip(decode_status_reply, input);
  round_trip(decode_exec_reply, input);
  round_trip(decode_logs_reply, input);
  round_trip(decode_heartbeat, input);
  return 0;
}
