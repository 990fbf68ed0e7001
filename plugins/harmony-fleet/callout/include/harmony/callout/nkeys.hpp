#pragma once
// NATS nkeys: Ed25519 keys (servers, accounts, users, operators) and
// curve25519 "xkeys", in NATS's text encoding: base32 (RFC 4648, no padding)
// of a prefix byte, the 32-byte key and a CRC-16 (XMODEM, little endian).
// Public keys read `N...`, `A...`, `U...`, `O...`, `X...`; seeds `S` then the
// kind's letter. The crypto is libsodium's.
//
// Seeds are secrets: they live in memory zeroed on destruction, and no
// function here puts one in an error message.

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <harmony/base/expected.hpp>

namespace harmony::callout {

// The kinds of key, by the prefix byte NATS gives them.
enum class KeyKind : std::uint8_t {
  account = 0,         // A
  cluster = 2 << 3,    // C
  server = 13 << 3,    // N
  operator_ = 14 << 3, // O
  user = 20 << 3,      // U
  curve = 23 << 3,     // X (an xkey)
};
// 'A', 'N', ...: what a public key of that kind starts with.
char letter_of(KeyKind kind);

std::string base32_encode(std::string_view bytes);
std::optional<std::string> base32_decode(std::string_view text);
std::uint16_t crc16(std::string_view bytes);

// A public key as text, for its 32 raw bytes.
std::string encode_public(KeyKind kind, std::string_view raw);
// The 32 raw bytes of a public key, which must be of `kind`: errors say what
// is wrong (encoding, checksum, kind), never echo more than the key's first
// letter.
base::expected<std::string> decode_public(std::string_view key, KeyKind kind);
// Whether `key` is a valid public key of `kind`.
bool is_public(std::string_view key, KeyKind kind);

// Verifies an Ed25519 signature by the public nkey `key` (of any Ed25519
// kind) over `message`.
base::expected<void> verify(std::string_view key, std::string_view message, std::string_view signature);

// An Ed25519 nkey with its seed.
class KeyPair {
 public:
  static KeyPair generate(KeyKind kind);
  // From an encoded seed (`SA...`, `SU...`, ...); not for curve seeds.
  static base::expected<KeyPair> from_seed(std::string_view seed);
  KeyPair(const KeyPair& other);
  KeyPair& operator=(const KeyPair& other);
  ~KeyPair();

  [[nodiscard]] KeyKind kind() const { return kind_; }
  [[nodiscard]] std::string public_key() const;
  // The encoded seed: a secret.
  [[nodiscard]] std::string seed() const;
  // The 64-byte Ed25519 signature of `message`.
  [[nodiscard]] std::string sign(std::string_view message) const;

 private:
  KeyPair() = default;
  KeyKind kind_ = KeyKind::user;
  std::array<unsigned char, 32> seed_{};
  std::array<unsigned char, 32> public_{};
  std::array<unsigned char, 64> secret_{};
};

// A curve25519 key (an xkey) with its seed: NaCl boxes between two xkeys,
// as nats-server encrypts auth callout requests and expects responses.
class XKey {
 public:
  static XKey generate();
  static base::expected<XKey> from_seed(std::string_view seed);
  XKey(const XKey& other);
  XKey& operator=(const XKey& other);
  ~XKey();

  [[nodiscard]] std::string public_key() const;
  [[nodiscard]] std::string seed() const;
  // `xkv1`, a random 24-byte nonce, then the box of `plaintext` from this key
  // to `recipient` (a public xkey).
  [[nodiscard]] base::expected<std::string> seal(std::string_view plaintext, std::string_view recipient) const;
  // The plaintext of what `sender` (a public xkey) sealed for this key.
  [[nodiscard]] base::expected<std::string> open(std::string_view sealed, std::string_view sender) const;

 private:
  struct SharedKeys;
  XKey();
  // The box key shared with `peer` (raw public bytes), computed once per
  // peer: the curve25519 multiplication is 50 us here, the box itself 1 us,
  // and a callout meets the same few servers on every login. None for a
  // low-order key, which shares no secret.
  [[nodiscard]] std::optional<std::array<unsigned char, 32>> shared_with(const std::string& peer) const;
  std::array<unsigned char, 32> seed_{};
  std::array<unsigned char, 32> public_{};
  std::shared_ptr<SharedKeys> shared_;
};

}  // namespace harmony::callout
