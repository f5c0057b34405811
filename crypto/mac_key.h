#ifndef TEMOIN_CRYPTO_MAC_KEY_H_
#define TEMOIN_CRYPTO_MAC_KEY_H_

#include <string>

#include "absl/strings/string_view.h"
#include "crypto/secret_buffer.h"

namespace temoin::crypto {

// One HMAC-SHA-512-256 key (crypto_auth) used for many short messages, as the vault's
// index key is for every store key it names. HMAC hashes the padded key into an inner
// and an outer state before each message; this class does that once, so a MAC of a
// message under 100 bytes costs two SHA-512 blocks instead of four. Mac(m) returns the
// same bytes as crypto::Mac(key, m).
//
// The two states together let anyone compute MACs under the key, so they live in a
// SecretBuffer and are wiped with it. Mac() is const and may be called from several
// threads at once.
class MacKey {
 public:
  // `key` is 32 bytes; it is not kept.
  static MacKey From(const SecretBuffer& key);

  MacKey(MacKey&&) noexcept = default;
  MacKey& operator=(MacKey&&) noexcept = default;

  std::string Mac(absl::string_view message) const;

 private:
  explicit MacKey(SecretBuffer state) : state_(std::move(state)) {}

  // The bytes of a crypto_auth_hmacsha512256_state after init, copied in and out with
  // memcpy: sodium_malloc does not align to the state's type.
  SecretBuffer state_;
};

}  // namespace temoin::crypto

#endif  // TEMOIN_CRYPTO_MAC_KEY_H_
