// libFuzzer target for everything fleet-callout decodes from outside:
// nats-server's authorization requests (plain and sealed), NATS JWTs, nkeys,
// the identity provider's JWKS and tokens. The first byte picks the
// decoder; for JWTs and requests, the rest is also spliced into a valid
// one (so mutations reach past the outer checks). Nothing may crash, leak
// or trip a sanitizer, and nothing mangled may pass.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <harmony/callout/authorization.hpp>
#include <harmony/callout/jwt.hpp>
#include <harmony/callout/nkeys.hpp>
#include <harmony/callout/oidc.hpp>

using namespace harmony::callout;

namespace {

struct Fixed {
  KeyPair server = KeyPair::generate(KeyKind::server);
  KeyPair account = KeyPair::generate(KeyKind::account);
  XKey callout = XKey::generate();
  XKey server_xkey = XKey::generate();
  std::string request;
  std::string sealed;
  std::optional<KeySet> keys;
  Fixed() {
    const KeyPair user = KeyPair::generate(KeyKind::user);
    nlohmann::json claims = {{"sub", user.public_key()},
                             {"nats",
                              {{"server_id", {{"id", server.public_key()}}},
                               {"user_nkey", user.public_key()},
                               {"connect_opts", {{"auth_token", "t"}}},
                               {"type", "authorization_request"}}}};
    request = encode_jwt(claims, server);
    sealed = server_xkey.seal(request, callout.public_key()).value();
    keys.emplace(*KeySet::parse(R"({"keys":[{"kty":"EC","crv":"P-256","kid":"k","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]})"));
  }
};

const Fixed& fixed() {
  static const Fixed f;
  return f;
}

std::string spliced(std::string base, const uint8_t* data, std::size_t size) {
  if (base.empty() || size < 2) return base;
  const std::size_t at = (static_cast<std::size_t>(data[0]) << 8 | data[1]) % base.size();
  for (std::size_t i = 2; i < size && at + i - 2 < base.size(); ++i) base[at + i - 2] = static_cast<char>(data[i]);
  return base;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const Fixed& f = fixed();
  const std::string input(reinterpret_cast<const char*>(data + 1), size - 1);
  static constexpr KeyKind kinds[] = {KeyKind::server, KeyKind::account};
  switch (data[0] % 8) {
    case 0: (void)read_request(input, "", nullptr); break;
    case 1: (void)read_request(input, f.server_xkey.public_key(), &f.callout); break;
    case 2: {
      const std::string mangled = spliced(f.request, data + 1, size - 1);
      auto r = read_request(mangled, "", nullptr);
      if (r && mangled != f.request) __builtin_trap();  // a changed request must not verify
      break;
    }
    case 3: {
      const std::string mangled = spliced(f.sealed, data + 1, size - 1);
      auto r = read_request(mangled, f.server_xkey.public_key(), &f.callout);
      if (r && mangled != f.sealed) __builtin_trap();
      break;
    }
    case 4: (void)decode_jwt(input, kinds); break;
    case 5: {
      // Whatever the refusal says about the token, the answer carrying it is
      // made: its JSON must stay valid (a cut multi-byte character once
      // threw here).
      auto checked = validate_token(input, *f.keys, TokenRules{.issuer = "https://id", .audience = "a"});
      if (!checked) {
        static const AuthRequest request = *read_request(f.request, "", nullptr);
        if (!refuse(request, checked.error().reason, f.account, nullptr)) __builtin_trap();
        if (!refuse(request, input, f.account, nullptr)) __builtin_trap();
      }
      break;
    }
    case 6: (void)KeySet::parse(input); break;
    default:
      (void)base32_decode(input);
      (void)decode_public(input, KeyKind::user);
      (void)KeyPair::from_seed(input);
      (void)XKey::from_seed(input);
      (void)base64url_decode(input);
      break;
  }
  return 0;
}
