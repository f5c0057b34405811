#ifndef TEMOIN_CRYPTO_PADDING_H_
#define TEMOIN_CRYPTO_PADDING_H_

// Internal to temoin::crypto: Padmé padding of record bodies (PadmeLength itself is
// declared in crypto/envelope.h).

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace temoin::crypto::internal {

// `data` || 0x80 || zeros, of total length PadmeLength(data.size() + 1). The 0x80 marker
// makes the padding removable without storing the length (ISO/IEC 7816-4, as
// sodium_pad).
std::string PadmePad(absl::string_view data);

// Inverse of PadmePad, strict: kDataLoss "record body padding invalid" unless `padded`
// is exactly PadmePad of the returned prefix (marker present, zeros after it, and
// padded.size() == PadmeLength(prefix + 1)). Constant time in the padding length.
absl::StatusOr<size_t> PadmeUnpaddedLength(absl::string_view padded);

}  // namespace temoin::crypto::internal

#endif  // TEMOIN_CRYPTO_PADDING_H_
