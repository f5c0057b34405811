#ifndef TEMOIN_CRYPTO_BODY_CODEC_H_
#define TEMOIN_CRYPTO_BODY_CODEC_H_

// Internal to temoin::crypto: zstd compression of record bodies. zstd's working memory
// holds plaintext, so its contexts use an allocator that wipes on free.

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace temoin::crypto::internal {

// Body dictionaries (RecordHeader.body_dictionary): 0 is none; 1 is
// data/body-dictionary-v1.zdict (trained by tests/bench/train_body_dictionary on
// synthetic testimonies, embedded at build time). A new dictionary gets a new id and
// the old ones stay, so every sealed record keeps opening.
inline constexpr uint32_t kNoBodyDictionary = 0;
inline constexpr uint32_t kCurrentBodyDictionary = 1;
bool IsKnownBodyDictionary(uint32_t id);
// The bytes of dictionary `id`; empty for none or an unknown id.
absl::string_view BodyDictionaryBytes(uint32_t id);

// One zstd frame (level 6, see body_codec.cc) with dictionary `dictionary` (known), with
// the content size in the frame header (DecompressBody needs it), no dictionary id (the
// header names the dictionary) and without the 4-byte magic number that starts every
// frame. kInternal if zstd fails, kInvalidArgument for an unknown dictionary.
absl::StatusOr<std::string> CompressBody(absl::string_view plaintext,
                                         uint32_t dictionary = kCurrentBodyDictionary);

// `compressed` is untrusted (authenticated, but possibly made by a hostile device):
// CompressBody's output, or a whole frame (magic included) as bodies were sealed
// before. Exactly one zstd frame that declares its content size, at most `max_output` bytes;
// anything else (unknown or oversized size, trailing bytes, a corrupt frame, an unknown
// dictionary) gives kDataLoss "record body does not decode" before any large
// allocation: this is the decompression-bomb guard.
absl::StatusOr<std::string> DecompressBody(absl::string_view compressed, size_t max_output,
                                           uint32_t dictionary);

}  // namespace temoin::crypto::internal

#endif  // TEMOIN_CRYPTO_BODY_CODEC_H_
