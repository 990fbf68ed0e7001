// libFuzzer target for the wire contract's decoders: whatever a peer sends,
// decoding returns a value or a Failure, never crashes, never reads out of
// bounds (built with AddressSanitizer and UBSan by run_fuzzer.sh).
//
// Input layout: the first line is the subject's last token (the verb as
// sent), the rest is the payload. The whole input is also fed to every reply
// decoder, which clients run on what agents send back.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include <harmony/agent/protocol.hpp>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  const std::string_view token = input.substr(0, newline);
  const std::string_view payload = newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);

  using namespace harmony::agent;
  if (auto request = decode_request(token, payload)) {
    // A decoded request re-encodes and decodes to the same verb.
    if (const auto* exec = std::get_if<ExecRequest>(&request->body)) {
      auto again = decode_request("exec", encode_request(*exec));
      if (!again || std::get<ExecRequest>(again->body).argv != exec->argv) __builtin_trap();
    }
  } else {
    (void)encode(request.error());
  }
  (void)decode_ping_reply(input);
  (void)decode_status_reply(input);
  (void)decode_exec_reply(input);
  (void)decode_logs_reply(input);
  (void)decode_heartbeat(input);
  return 0;
}
