#include <catch2/catch.hpp>

#include <array>
#include <vector>

#include <harmony/callout/jwt.hpp>
#include <harmony/callout/nkeys.hpp>

using namespace harmony::callout;
using namespace std::chrono_literals;

namespace {

// Published pairs from nats-server's own auth callout tests: a seed and the
// public key NATS derives from it.
constexpr const char* account_seed = "SAANDLKMXL6CUS3CP52WIXBEDN6YJ545GDKC65U5JZPPV6WH6ESWUA6YAI";
constexpr const char* account_public = "ABJHLOVMPA4CI6R5KLNGOB4GSLNIY7IOUPAJC4YFNDLQVIOBYQGUWVLA";
constexpr const char* user_seed = "SUAP277QP7U4JMFFPVZHLJYEQJ2UHOTYVEIZJYAWRJXQLP4FRSEHYZJJOU";
constexpr const char* user_public = "UBO2MQV67TQTVIRV3XFTEZOACM4WLOCMCDMAWN5QVN5PI2N6JHTVDRON";

std::string flip(std::string s, std::size_t at) {
  s[at] = s[at] == 'A' ? 'B' : 'A';
  return s;
}

}  // namespace

TEST_CASE("nkeys decode as NATS encodes them: a seed gives NATS's public key, and encodes back to itself") {
  auto account = KeyPair::from_seed(account_seed);
  REQUIRE(account);
  CHECK(account->kind() == KeyKind::account);
  CHECK(account->public_key() == account_public);
  CHECK(account->seed() == account_seed);
  auto user = KeyPair::from_seed(user_seed);
  REQUIRE(user);
  CHECK(user->kind() == KeyKind::user);
  CHECK(user->public_key() == user_public);
  CHECK(is_public(account_public, KeyKind::account));
  CHECK_FALSE(is_public(account_public, KeyKind::user));
  CHECK(decode_public(user_public, KeyKind::user).value().size() == 32);
}

TEST_CASE("bad nkeys are refused with the reason, and the error never repeats the seed") {
  for (const std::string& bad : {std::string(), std::string("SA"), flip(account_seed, 20), std::string(account_seed) + "A",
                                std::string("not base32 at all!"), std::string(account_public)}) {
    auto k = KeyPair::from_seed(bad);
    REQUIRE_FALSE(k);
    CHECK_FALSE(k.error().reason.empty());
    if (bad.size() > 10) CHECK(k.error().message.find(bad) == std::string::npos);
    if (bad.size() > 10) CHECK(k.error().reason.find(bad) == std::string::npos);
  }
  CHECK_THAT(decode_public(flip(account_public, 30), KeyKind::account).error().reason, Catch::Contains("checksum"));
  CHECK_THAT(decode_public(account_public, KeyKind::server).error().reason, Catch::Contains("starts with A"));
  CHECK_FALSE(KeyPair::from_seed(XKey::generate().seed()));  // a curve seed is not an Ed25519 one
  CHECK_FALSE(XKey::from_seed(account_seed));
}

TEST_CASE("base32 round-trips any bytes and refuses what is not canonical") {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t n = 0; n < 40; ++n) CHECK(base32_decode(base32_encode(all.substr(n, n))) == all.substr(n, n));
  CHECK_FALSE(base32_decode("a"));  // lower case
  CHECK_FALSE(base32_decode("AB"));  // leftover bits not zero
  CHECK(crc16("123456789") == 0x31c3);  // CRC-16/XMODEM's check value
}

TEST_CASE("base64url round-trips any bytes and refuses padding, other alphabets, spare bits and stray characters") {
  std::string bytes;
  for (int i = 0; i < 40; ++i) {
    const std::string text = base64url_encode(bytes);
    CHECK(text.find_first_of("+/=") == std::string::npos);
    CHECK(base64url_decode(text) == bytes);
    bytes.push_back(static_cast<char>(0xfb ^ (i * 37)));
  }
  CHECK(base64url_encode("\xfb\xff") == "-_8");
  CHECK(base64url_decode("-_8") == std::string("\xfb\xff"));
  CHECK(base64url_decode("") == std::string());
  CHECK_FALSE(base64url_decode("+/8"));   // standard alphabet
  CHECK_FALSE(base64url_decode("QQ=="));  // padding
  CHECK_FALSE(base64url_decode("QR"));    // spare bits: "QQ" is the one text for "A"
  CHECK_FALSE(base64url_decode("QUJDR"));  // a lone last character
  CHECK_FALSE(base64url_decode("QU JD"));
  CHECK_FALSE(base64url_decode("QUJD\n"));
  CHECK_FALSE(base64url_decode(std::string("QU\0D", 4)));
  // Bytes above 0x7f: Debian's libsodium alone would read each as '_'.
  for (const char* text : {"QU\xdf" "D", "\xbfQ", "\x80\x80\x80\x80", "__\xff_"}) CHECK_FALSE(base64url_decode(text));
}

TEST_CASE("signatures verify with the signer's public key only, over exactly what was signed") {
  const KeyPair server = KeyPair::generate(KeyKind::server);
  CHECK(server.public_key().front() == 'N');
  CHECK(server.seed().substr(0, 2) == "SN");
  const std::string signature = server.sign("hello");
  CHECK(verify(server.public_key(), "hello", signature));
  CHECK_FALSE(verify(server.public_key(), "hellO", signature));
  CHECK_FALSE(verify(KeyPair::generate(KeyKind::server).public_key(), "hello", signature));
  CHECK_FALSE(verify(server.public_key(), "hello", signature.substr(1)));
  auto again = KeyPair::from_seed(server.seed());
  REQUIRE(again);
  CHECK(again->public_key() == server.public_key());
}

TEST_CASE("xkeys seal for one recipient from one sender, as NATS's xkv1 boxes") {
  const XKey a = XKey::generate(), b = XKey::generate(), c = XKey::generate();
  CHECK(a.public_key().front() == 'X');
  auto sealed = a.seal("the request", b.public_key());
  REQUIRE(sealed);
  CHECK(sealed->substr(0, 4) == "xkv1");
  CHECK(b.open(*sealed, a.public_key()) == std::string("the request"));
  CHECK_FALSE(c.open(*sealed, a.public_key()));  // not for c
  CHECK_FALSE(b.open(*sealed, c.public_key()));  // not from c
  std::string tampered = *sealed;
  tampered.back() = static_cast<char>(tampered.back() ^ 1);
  CHECK_FALSE(b.open(tampered, a.public_key()));
  CHECK_FALSE(b.open("xkv1", a.public_key()));
  auto restored = XKey::from_seed(b.seed());
  REQUIRE(restored);
  CHECK(restored->open(*sealed, a.public_key()) == std::string("the request"));
  // The key shared with a peer is kept: later boxes, either way, from more
  // peers than are kept, still open with the right keys only.
  std::vector<XKey> senders;
  for (int i = 0; i < 70; ++i) senders.push_back(XKey::generate());
  for (int round = 0; round < 2; ++round)
    for (const auto& sender : senders) {
      auto box = sender.seal("round " + std::to_string(round), b.public_key());
      REQUIRE(box);
      CHECK(b.open(*box, sender.public_key()) == "round " + std::to_string(round));
      CHECK_FALSE(b.open(*box, a.public_key()));
      auto answer = b.seal("answer", sender.public_key());
      REQUIRE(answer);
      CHECK(sender.open(*answer, b.public_key()) == std::string("answer"));
    }
  // A low-order public key shares no secret: nothing is sealed for it.
  const std::string zero = encode_public(KeyKind::curve, std::string(32, '\0'));
  CHECK_FALSE(a.seal("the request", zero));
  CHECK_FALSE(a.open(*sealed, zero));
}

TEST_CASE("NATS JWTs: signed by their issuer, refused when tampered, expired, too long or from the wrong kind of key") {
  const KeyPair account = KeyPair::from_seed(account_seed).value();
  const auto now = std::chrono::system_clock::now();
  const std::string token =
      encode_jwt({{"sub", user_public}, {"exp", std::chrono::duration_cast<std::chrono::seconds>((now + 1h).time_since_epoch()).count()}},
                 account, now);
  static constexpr std::array accounts{KeyKind::account};
  static constexpr std::array servers{KeyKind::server};
  auto decoded = decode_jwt(token, accounts, now);
  REQUIRE(decoded);
  CHECK(decoded->issuer == account_public);
  CHECK(decoded->claims["sub"] == user_public);
  CHECK(decoded->claims["jti"].get<std::string>().size() > 40);

  CHECK_THAT(decode_jwt(token, servers, now).error().reason, Catch::Contains("issuer is not a key of the expected kind"));
  CHECK_THAT(decode_jwt(token, accounts, now + 2h).error().reason, Catch::Contains("expired"));
  CHECK_THAT(decode_jwt(token, accounts, now, 10).error().reason, Catch::Contains("longer than 10 bytes"));
  // Claims changed after signing.
  const auto dot = token.find('.');
  const auto dot2 = token.find('.', dot + 1);
  const std::string forged_claims = base64url_encode(R"({"sub":"someone else","iss":")" + std::string(account_public) + R"("})");
  CHECK_THAT(decode_jwt(token.substr(0, dot + 1) + forged_claims + token.substr(dot2), accounts, now).error().reason,
             Catch::Contains("does not verify"));
  for (const std::string& bad : {std::string(), std::string("a.b"), std::string("a.b.c.d"), token + "x", std::string("...")})
    CHECK_FALSE(decode_jwt(bad, accounts, now));
}
