#ifndef TEMOIN_CRYPTO_BYTES_H_
#define TEMOIN_CRYPTO_BYTES_H_

// Internal to temoin::crypto: byte-pointer casts for libsodium's unsigned char APIs and
// the fixed-width encodings that hashed and signed inputs use. Not installed.

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace temoin::crypto::internal {

inline const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
inline unsigned char* MutableBytes(std::string& s) {
  return reinterpret_cast<unsigned char*>(s.data());
}

inline void AppendU32BigEndian(std::string& out, uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((value >> shift) & 0xff));
  }
}
inline void AppendU64BigEndian(std::string& out, uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

// Constant-time equality of two byte strings; unequal lengths are unequal (lengths are
// public everywhere this is used).
bool ConstantTimeEquals(absl::string_view a, absl::string_view b);

}  // namespace temoin::crypto::internal

#endif  // TEMOIN_CRYPTO_BYTES_H_
