#ifndef TEMOIN_COMMON_ENCODING_H_
#define TEMOIN_COMMON_ENCODING_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace temoin {

// Lowercase hex, as record and device ids are printed.
std::string ToHex(absl::string_view bytes);
// `hex` is untrusted: kInvalidArgument names `what` on odd length or a bad digit.
absl::StatusOr<std::string> FromHex(absl::string_view hex, absl::string_view what);

// Unpadded base64url (RFC 4648 §5), as enrolment codes are written.
std::string ToBase64Url(absl::string_view bytes);
absl::StatusOr<std::string> FromBase64Url(absl::string_view text, absl::string_view what);

// Big-endian fixed-width integers, so that store keys sort numerically.
std::string EncodeU64BigEndian(uint64_t value);
uint64_t DecodeU64BigEndian(absl::string_view bytes);  // needs 8 bytes

// RFC 3339 in UTC ("2026-11-27T19:00:00Z").
std::string FormatRfc3339(int64_t unix_seconds);

}  // namespace temoin

#endif  // TEMOIN_COMMON_ENCODING_H_
