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
  TEMOIN_CHECK(key.size() == crypto_auth_KEYBYTES);
  SecretBuffer state = SecretBuffer::Allocate(sizeof(State));
  crypto_auth_hmacsha512256_init(reinterpret_cast<State*>(state.data()), key.data(), key.size());
  return MacKey(std::move(state));
}

std::string MacKey::Mac(absl::string_view message) const {
  TEMOIN_CHECK(state_.size() == sizeof(State));
  // A copy per call, so that the key can be used from several threads at once; wiped
  // after, as it holds the key's states.
  State state;
  std::memcpy(&state, state_.data(), sizeof(State));
  std::string mac(crypto_auth_hmacsha512256_BYTES, '\0');
  crypto_auth_hmacsha512256_update(&state, Bytes(message), message.size());
  crypto_auth_hmacsha512256_final(&state, MutableBytes(mac));
  sodium_memzero(&state, sizeof(State));
  return mac;
}

}  // namespace temoin::crypto
