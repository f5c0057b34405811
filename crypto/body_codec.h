#ifndef TEMOIN_CRYPTO_BODY_CODEC_H_
#define TEMOIN_CRYPTO_BODY_CODEC_H_

// Internal to temoin::crypto: zstd compression of record bodies. zstd's working memory
// holds plaintext, so its contexts use an allocator that wipes on free.

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace temoin::crypto::internal {

// zstd level 3, with the content size in the frame header (DecompressBody needs it).
// kInternal if zstd fails.
absl::StatusOr<std::string> CompressBody(absl::string_view plaintext);

// `compressed` is untrusted (authenticated, but possibly made by a hostile device).
// Exactly one zstd frame that declares its content size, at most `max_output` bytes;
// anything else (unknown or oversized size, trailing bytes, a corrupt frame) gives
// kDataLoss "record body does not decode" before any large allocation: this is the
// decompression-bomb guard.
absl::StatusOr<std::string> DecompressBody(absl::string_view compressed, size_t max_output);

}  // namespace temoin::crypto::internal

#endif  // TEMOIN_CRYPTO_BODY_CODEC_H_
