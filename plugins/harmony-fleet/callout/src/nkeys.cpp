#include <harmony/callout/nkeys.hpp>

#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <stdexcept>

#include <sodium.h>

namespace harmony::callout {
namespace {

constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::uint8_t seed_prefix = 18 << 3;  // 'S'
constexpr std::string_view xkey_version = "xkv1";

void init_sodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (sodium_init() < 0) throw std::runtime_error("libsodium cannot be initialised");
  });
}

base::Error bad_key(std::string what, std::string why) {
  return base::make_error("not a valid " + std::move(what), std::move(why));
}

std::string_view bytes(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

bool known_kind(std::uint8_t prefix) {
  for (KeyKind k : {KeyKind::account, KeyKind::cluster, KeyKind::server, KeyKind::operator_, KeyKind::user, KeyKind::curve})
    if (static_cast<std::uint8_t>(k) == prefix) return true;
  return false;
}

// Raw bytes with their checksum checked and removed.
base::expected<std::string> checked(std::string_view text, const std::string& what) {
  auto raw = base32_decode(text);
  if (!raw) return base::fail(bad_key(what, "it is not base32"));
  if (raw->size() < 4) return base::fail(bad_key(what, "it is too short"));
  const std::string body = raw->substr(0, raw->size() - 2);
  const auto lo = static_cast<unsigned char>((*raw)[raw->size() - 2]);
  const auto hi = static_cast<unsigned char>((*raw)[raw->size() - 1]);
  if (crc16(body) != static_cast<std::uint16_t>(lo | (hi << 8))) return base::fail(bad_key(what, "its checksum is wrong"));
  return body;
}

struct DecodedSeed {
  KeyKind kind;
  std::array<unsigned char, 32> seed;
};

base::expected<DecodedSeed> decode_seed(std::string_view text) {
  auto body = checked(text, "nkey seed");
  if (!body) return base::fail(body.error());
  if (body->size() != 34) return base::fail(bad_key("nkey seed", "it does not hold 32 bytes"));
  const auto b1 = static_cast<std::uint8_t>((*body)[0]);
  const auto b2 = static_cast<std::uint8_t>((*body)[1]);
  if ((b1 & 0xf8) != seed_prefix) return base::fail(bad_key("nkey seed", "it does not start with S"));
  const auto prefix = static_cast<std::uint8_t>(((b1 & 0x07) << 5) | ((b2 & 0xf8) >> 3));
  if (!known_kind(prefix)) return base::fail(bad_key("nkey seed", "it is for an unknown kind of key"));
  DecodedSeed out{static_cast<KeyKind>(prefix), {}};
  std::memcpy(out.seed.data(), body->data() + 2, 32);
  sodium_memzero(body->data(), body->size());
  return out;
}

std::string encode_seed(KeyKind kind, const std::array<unsigned char, 32>& seed) {
  const auto prefix = static_cast<std::uint8_t>(kind);
  std::string raw;
  raw.push_back(static_cast<char>(seed_prefix | (prefix >> 5)));
  raw.push_back(static_cast<char>((prefix & 31) << 3));
  raw.append(bytes(seed.data(), seed.size()));
  const std::uint16_t crc = crc16(raw);
  raw.push_back(static_cast<char>(crc & 0xff));
  raw.push_back(static_cast<char>(crc >> 8));
  std::string out = base32_encode(raw);
  sodium_memzero(raw.data(), raw.size());
  return out;
}

}  // namespace

char letter_of(KeyKind kind) { return alphabet[static_cast<std::uint8_t>(kind) >> 3]; }

std::string base32_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() * 8 + 4) / 5);
  unsigned buffer = 0;
  int bits = 0;
  for (char ch : in) {
    const auto c = static_cast<unsigned char>(ch);
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 5) {
      out.push_back(alphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(alphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

std::optional<std::string> base32_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size() * 5 / 8);
  unsigned buffer = 0;
  int bits = 0;
  for (char c : in) {
    const auto at = alphabet.find(c);
    if (at == std::string_view::npos) return std::nullopt;
    buffer = (buffer << 5) | static_cast<unsigned>(at);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<char>((buffer >> (bits - 8)) & 0xff));
      bits -= 8;
    }
  }
  // What is left over must be padding bits of zero, fewer than a byte.
  if (bits >= 5 || (buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::uint16_t crc16(std::string_view data) {
  std::uint16_t crc = 0;
  for (char ch : data) {
    const auto c = static_cast<unsigned char>(ch);
    crc = static_cast<std::uint16_t>(crc ^ (c << 8));
    for (int i = 0; i < 8; ++i)
      crc = static_cast<std::uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
  }
  return crc;
}

std::string encode_public(KeyKind kind, std::string_view raw) {
  std::string data(1, static_cast<char>(kind));
  data.append(raw);
  const std::uint16_t crc = crc16(data);
  data.push_back(static_cast<char>(crc & 0xff));
  data.push_back(static_cast<char>(crc >> 8));
  return base32_encode(data);
}

base::expected<std::string> decode_public(std::string_view key, KeyKind kind) {
  const std::string what = std::string("public key of kind ") + letter_of(kind);
  if (key.empty() || key.front() != letter_of(kind))
    return base::fail(bad_key(what, key.empty() ? "it is empty" : "it starts with " + std::string(1, key.front())));
  auto body = checked(key, what);
  if (!body) return base::fail(body.error());
  if (body->size() != 33 || static_cast<std::uint8_t>((*body)[0]) != static_cast<std::uint8_t>(kind))
    return base::fail(bad_key(what, "it does not hold one 32-byte key of that kind"));
  return body->substr(1);
}

bool is_public(std::string_view key, KeyKind kind) { return decode_public(key, kind).has_value(); }

base::expected<void> verify(std::string_view key, std::string_view message, std::string_view signature) {
  init_sodium();
  if (key.empty()) return base::fail(bad_key("public key", "it is empty"));
  std::optional<std::string> raw;
  for (KeyKind k : {KeyKind::server, KeyKind::account, KeyKind::user, KeyKind::operator_, KeyKind::cluster})
    if (key.front() == letter_of(k))
      if (auto decoded = decode_public(key, k)) raw = std::move(*decoded);
  if (!raw) return base::fail(bad_key("Ed25519 public nkey", "not an N, A, U, O or C key with a good checksum"));
  if (signature.size() != crypto_sign_BYTES) return base::fail(base::make_error("bad signature", "it is not 64 bytes"));
  if (crypto_sign_verify_detached(reinterpret_cast<const unsigned char*>(signature.data()),
                                  reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                                  reinterpret_cast<const unsigned char*>(raw->data())) != 0)
    return base::fail(base::make_error("bad signature", "it does not verify with the issuer's key"));
  return {};
}

// ---- KeyPair --------------------------------------------------------------------

KeyPair KeyPair::generate(KeyKind kind) {
  if (kind == KeyKind::curve) throw std::logic_error("KeyPair is for Ed25519 keys; use XKey");
  init_sodium();
  KeyPair k;
  k.kind_ = kind;
  randombytes_buf(k.seed_.data(), k.seed_.size());
  crypto_sign_seed_keypair(k.public_.data(), k.secret_.data(), k.seed_.data());
  return k;
}

base::expected<KeyPair> KeyPair::from_seed(std::string_view seed) {
  init_sodium();
  auto decoded = decode_seed(seed);
  if (!decoded) return base::fail(decoded.error());
  if (decoded->kind == KeyKind::curve) return base::fail(bad_key("Ed25519 nkey seed", "it is a curve (xkey) seed"));
  KeyPair k;
  k.kind_ = decoded->kind;
  k.seed_ = decoded->seed;
  sodium_memzero(decoded->seed.data(), decoded->seed.size());
  crypto_sign_seed_keypair(k.public_.data(), k.secret_.data(), k.seed_.data());
  return k;
}

KeyPair::KeyPair(const KeyPair& other) = default;
KeyPair& KeyPair::operator=(const KeyPair& other) = default;
KeyPair::~KeyPair() {
  sodium_memzero(seed_.data(), seed_.size());
  sodium_memzero(secret_.data(), secret_.size());
}

std::string KeyPair::public_key() const { return encode_public(kind_, bytes(public_.data(), public_.size())); }
std::string KeyPair::seed() const { return encode_seed(kind_, seed_); }

std::string KeyPair::sign(std::string_view message) const {
  std::string signature(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(signature.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(message.data()), message.size(), secret_.data());
  return signature;
}

// ---- XKey -----------------------------------------------------------------------

struct XKey::SharedKeys {
  // A server's xkey lives as long as the server, so a few entries serve a
  // cluster; the bound only keeps a stream of odd senders from growing it.
  static constexpr std::size_t max_peers = 64;
  std::mutex mutex;
  std::map<std::string, std::array<unsigned char, crypto_box_BEFORENMBYTES>> keys;
  ~SharedKeys() {
    for (auto& [peer, key] : keys) sodium_memzero(key.data(), key.size());
  }
};

XKey::XKey() : shared_(std::make_shared<SharedKeys>()) {}

std::optional<std::array<unsigned char, 32>> XKey::shared_with(const std::string& peer) const {
  std::lock_guard lock(shared_->mutex);
  if (auto it = shared_->keys.find(peer); it != shared_->keys.end()) return it->second;
  std::array<unsigned char, crypto_box_BEFORENMBYTES> key{};
  // A low-order peer key shares no secret: no box to or from it.
  if (crypto_box_beforenm(key.data(), reinterpret_cast<const unsigned char*>(peer.data()), seed_.data()) != 0)
    return std::nullopt;
  if (shared_->keys.size() >= SharedKeys::max_peers) shared_->keys.clear();
  shared_->keys.emplace(peer, key);
  return key;
}

XKey XKey::generate() {
  init_sodium();
  XKey k;
  randombytes_buf(k.seed_.data(), k.seed_.size());
  crypto_scalarmult_base(k.public_.data(), k.seed_.data());
  return k;
}

base::expected<XKey> XKey::from_seed(std::string_view seed) {
  init_sodium();
  auto decoded = decode_seed(seed);
  if (!decoded) return base::fail(decoded.error());
  if (decoded->kind != KeyKind::curve) return base::fail(bad_key("xkey seed", "it is not a curve (X) seed"));
  XKey k;
  k.seed_ = decoded->seed;
  sodium_memzero(decoded->seed.data(), decoded->seed.size());
  crypto_scalarmult_base(k.public_.data(), k.seed_.data());
  return k;
}

XKey::XKey(const XKey& other) = default;
XKey& XKey::operator=(const XKey& other) = default;
XKey::~XKey() { sodium_memzero(seed_.data(), seed_.size()); }

std::string XKey::public_key() const { return encode_public(KeyKind::curve, bytes(public_.data(), public_.size())); }
std::string XKey::seed() const { return encode_seed(KeyKind::curve, seed_); }

base::expected<std::string> XKey::seal(std::string_view plaintext, std::string_view recipient) const {
  auto to = decode_public(recipient, KeyKind::curve);
  if (!to) return base::fail(to.error());
  std::string out(xkey_version);
  std::array<unsigned char, crypto_box_NONCEBYTES> nonce{};
  randombytes_buf(nonce.data(), nonce.size());
  out.append(bytes(nonce.data(), nonce.size()));
  const std::size_t at = out.size();
  out.resize(at + crypto_box_MACBYTES + plaintext.size());
  auto key = shared_with(*to);
  const int sealed = key ? crypto_box_easy_afternm(reinterpret_cast<unsigned char*>(out.data() + at),
                                                   reinterpret_cast<const unsigned char*>(plaintext.data()),
                                                   plaintext.size(), nonce.data(), key->data())
                         : -1;
  if (key) sodium_memzero(key->data(), key->size());
  if (sealed != 0)
    return base::fail(base::make_error("cannot encrypt for " + std::string(recipient.substr(0, 8)) + "..."));
  return out;
}

base::expected<std::string> XKey::open(std::string_view sealed, std::string_view sender) const {
  auto from = decode_public(sender, KeyKind::curve);
  if (!from) return base::fail(from.error());
  const std::size_t header = xkey_version.size() + crypto_box_NONCEBYTES;
  if (sealed.size() < header + crypto_box_MACBYTES || sealed.substr(0, xkey_version.size()) != xkey_version)
    return base::fail(base::make_error("cannot decrypt", "not an xkv1 box"));
  const auto* nonce = reinterpret_cast<const unsigned char*>(sealed.data() + xkey_version.size());
  const std::string_view box = sealed.substr(header);
  std::string out(box.size() - crypto_box_MACBYTES, '\0');
  auto key = shared_with(*from);
  const int opened = key ? crypto_box_open_easy_afternm(reinterpret_cast<unsigned char*>(out.data()),
                                                        reinterpret_cast<const unsigned char*>(box.data()), box.size(),
                                                        nonce, key->data())
                         : -1;
  if (key) sodium_memzero(key->data(), key->size());
  if (opened != 0)
    return base::fail(base::make_error("cannot decrypt", "the box does not open with these keys"));
  return out;
}

}  // namespace harmony::callout
