#include "crypto/padding.h"

#include <sodium.h>

#include <bit>

#include "crypto/envelope.h"

namespace temoin::crypto {

// Padmé (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and
// Communication with PURBs", PETS 2019): keep the top floor(log2(E)) + 1 bits of the
// length, where E = floor(log2(L)), and round the rest up. Overhead is at most ~12% and
// only O(log log L) bits of the length remain visible, where 4 KiB buckets would cost
// a 2G link up to 4 KiB per record.
uint64_t PadmeLength(uint64_t length) {
  if (length < 2) return length;             // log2 is undefined at 0 and 0 at 1: nothing to round
  const int e = std::bit_width(length) - 1;  // floor(log2 L)
  const int s = std::bit_width(static_cast<uint64_t>(e));  // floor(log2 E) + 1
  const int last_bits = e - s;
  const uint64_t mask = (uint64_t{1} << last_bits) - 1;
  return (length + mask) & ~mask;
}

namespace internal {

std::string PadmePad(absl::string_view data) {
  const uint64_t padded_length = PadmeLength(data.size() + 1);
  std::string padded;
  padded.reserve(padded_length);
  padded.append(data.data(), data.size());
  padded.push_back(static_cast<char>(0x80));
  padded.resize(padded_length, '\0');
  return padded;
}

absl::StatusOr<size_t> PadmeUnpaddedLength(absl::string_view padded) {
  const absl::Status invalid = absl::DataLossError("record body padding invalid");
  if (padded.empty()) return invalid;
  // sodium_unpad with the whole buffer as one block finds the 0x80 marker without
  // branching on the data. It accepts any amount of padding, so the length is then
  // checked against Padmé: exactly one padded form exists for each body.
  size_t unpadded_length = 0;
  if (sodium_unpad(&unpadded_length, reinterpret_cast<const unsigned char*>(padded.data()),
                   padded.size(), padded.size()) != 0) {
    return invalid;
  }
  if (PadmeLength(uint64_t{unpadded_length} + 1) != padded.size()) return invalid;
  return unpadded_length;
}

}  // namespace internal
}  // namespace temoin::crypto
