#ifndef TEMOIN_CRYPTO_KEYS_H_
#define TEMOIN_CRYPTO_KEYS_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/secret_buffer.h"

namespace temoin::crypto {

inline constexpr size_t kSigningPublicKeyBytes = 32;  // Ed25519
inline constexpr size_t kSigningSecretKeyBytes = 64;
inline constexpr size_t kSignatureBytes = 64;
inline constexpr size_t kBoxPublicKeyBytes = 32;  // X25519
inline constexpr size_t kBoxSecretKeyBytes = 32;
inline constexpr size_t kKeyIdBytes = 16;

// Ed25519. Used for device keys, the server's receipt key and the organisation key.
// Thread-compatible (const methods are thread-safe).
class SigningKey {
 public:
  static SigningKey Generate();
  // kInvalidArgument unless `secret_key` is 64 bytes whose public half matches.
  static absl::StatusOr<SigningKey> FromSecretKey(absl::string_view secret_key);

  const std::string& public_key() const { return public_key_; }
  const SecretBuffer& secret_key() const { return secret_key_; }
  // Detached Ed25519 signature (64 bytes) over `message` prefixed by `context`: the
  // signed bytes are context || 0x00 || message, so a signature made for one purpose
  // never verifies for another. `context` starts with "temoin/" and names a version.
  std::string Sign(absl::string_view context, absl::string_view message) const;

 private:
  SigningKey(std::string public_key, SecretBuffer secret_key)
      : public_key_(std::move(public_key)), secret_key_(std::move(secret_key)) {}
  std::string public_key_;
  SecretBuffer secret_key_;
};

// Checks a SigningKey::Sign signature. All inputs untrusted. kUnauthenticated
// "signature verification failed" for any wrong key, context, message or signature
// (including wrong lengths).
absl::Status VerifySignature(absl::string_view public_key, absl::string_view context,
                             absl::string_view message, absl::string_view signature);

// X25519 key pair for sealed boxes: project recipient keys and device grant keys.
class BoxKeyPair {
 public:
  static BoxKeyPair Generate();
  // kInvalidArgument unless 32 bytes; the public key is recomputed from the secret.
  static absl::StatusOr<BoxKeyPair> FromSecretKey(absl::string_view secret_key);

  const std::string& public_key() const { return public_key_; }
  const SecretBuffer& secret_key() const { return secret_key_; }

 private:
  BoxKeyPair(std::string public_key, SecretBuffer secret_key)
      : public_key_(std::move(public_key)), secret_key_(std::move(secret_key)) {}
  std::string public_key_;
  SecretBuffer secret_key_;
};

// 16-byte id of a public key: BLAKE2b-128 keyed by nothing over "temoin/key-id/v1" ||
// public_key. Names a recipient key in record headers without repeating it.
std::string KeyId(absl::string_view public_key);

// crypto_box_seal(plaintext, recipient_public_key). kInvalidArgument on a bad key size.
absl::StatusOr<std::string> SealToPublicKey(absl::string_view plaintext,
                                            absl::string_view recipient_public_key);
// `sealed` is untrusted. kUnauthenticated "authentication failed" on any failure.
absl::StatusOr<SecretBuffer> OpenSealed(absl::string_view sealed, const BoxKeyPair& recipient);

// Secret-key AEAD (XChaCha20-Poly1305 IETF). Seal draws a random nonce and prefixes it;
// callers never supply one. Thread-safe.
class Aead {
 public:
  static constexpr size_t kKeyBytes = 32;
  // kInvalidArgument unless key.size() == kKeyBytes.
  static absl::StatusOr<Aead> Create(SecretBuffer key);
  std::string Seal(absl::string_view plaintext, absl::string_view associated_data) const;
  // `ciphertext` untrusted. kUnauthenticated "authentication failed" on tampering,
  // truncation or a wrong key; nothing partial is returned.
  absl::StatusOr<std::string> Open(absl::string_view ciphertext,
                                   absl::string_view associated_data) const;

 private:
  explicit Aead(SecretBuffer key) : key_(std::move(key)) {}
  SecretBuffer key_;
};

// crypto_kdf_derive_from_key: a 32-byte subkey of `master` for (context, id).
// `context` is exactly 8 characters (libsodium's rule); anything else aborts.
SecretBuffer DeriveSubkey(const SecretBuffer& master, absl::string_view context, uint64_t id);

// Argon2id (crypto_pwhash ALG_ARGON2ID13) of a passphrase into a 32-byte key.
struct PassphraseParams {
  uint64_t opslimit = 3;                    // t
  uint64_t memlimit = 64ull * 1024 * 1024;  // bytes
  std::string salt;                         // 16 bytes
};
// kInvalidArgument if the salt is not 16 bytes or params are below the floor (t >= 3,
// m >= 64 MiB); kResourceExhausted if the memory cannot be had.
absl::StatusOr<SecretBuffer> DeriveKeyFromPassphrase(absl::string_view passphrase,
                                                     const PassphraseParams& params);

// crypto_auth (HMAC-SHA-512-256) for session tokens. Verify is constant-time.
std::string Mac(const SecretBuffer& key, absl::string_view message);
bool VerifyMac(const SecretBuffer& key, absl::string_view message, absl::string_view mac);

// BLAKE2b-256 of `context` || 0x00 || `data`.
std::string Hash256(absl::string_view context, absl::string_view data);

// Random bytes from the system CSPRNG (record ids, tokens, nonces).
std::string RandomBytes(size_t size);

}  // namespace temoin::crypto

#endif  // TEMOIN_CRYPTO_KEYS_H_
