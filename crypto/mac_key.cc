#include "crypto/mac_key.h"

#include <sodium.h>

#include <cstring>

#include "common/status_macros.h"
#include "crypto/bytes.h"

namespace temoin::crypto {

using internal::Bytes;
using internal::MutableBytes;
using State = crypto_auth_hmacsha512256_state;

MacKey MacKey::From(const SecretBuffer& key) {
  TEMOIN_CHECK(key.size() == crypto_auth_hmacsha512256_KEYBYTES);
  State state;
  crypto_auth_hmacsha512256_init(&state, key.data(), key.size());
  SecretBuffer kept = SecretBuffer::Allocate(sizeof(State));
  std::memcpy(kept.data(), &state, sizeof(State));
  sodium_memzero(&state, sizeof(State));
  return MacKey(std::move(kept));
}

std::string MacKey::Mac(absl::string_view message) const {
  TEMOIN_CHECK(state_.size() == sizeof(State));
  std::string mac(crypto_auth_hmacsha512256_BYTES, '\0');  // before the copy: may throw
  // A copy per call, so that calls on several threads do not share one; final() wipes it.
  State state;
  std::memcpy(&state, state_.data(), sizeof(State));
  crypto_auth_hmacsha512256_update(&state, Bytes(message), message.size());
  crypto_auth_hmacsha512256_final(&state, MutableBytes(mac));
  sodium_memzero(&state, sizeof(State));  // final() does too; this does not rely on it
  return mac;
}

}  // namespace temoin::crypto
