// Body decompression (crypto/body_codec.h), the decompression-bomb guard: any bytes,
// with either dictionary, must decode within the limit or be refused.
#include <cstddef>
#include <cstdint>

#include "crypto/body_codec.h"
#include "crypto/envelope.h"
#include "tests/fuzz/fuzz_support.h"

namespace temoin::fuzz {
namespace {

std::vector<std::string> Seeds() {
  std::vector<std::string> seeds;
  const std::string text =
      "Witness 1 (synthetic) reports that armed men burned a granary in Village X "
      "(synthetic) on market day.";
  for (uint32_t dictionary :
       {crypto::internal::kNoBodyDictionary, crypto::internal::kCurrentBodyDictionary}) {
    absl::StatusOr<std::string> body = crypto::internal::CompressBody(text, dictionary);
    if (body.ok()) seeds.push_back(std::string(1, static_cast<char>(dictionary)) + *body);
  }
  return seeds;
}

}  // namespace
}  // namespace temoin::fuzz

TEMOIN_FUZZ_SEEDS(temoin::fuzz::Seeds)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace temoin::crypto;
  if (size < 1) return 0;
  // The first byte picks the dictionary: 0, 1, or an unknown one.
  uint32_t dictionary = data[0] % 3;
  absl::string_view compressed(reinterpret_cast<const char*>(data + 1), size - 1);
  absl::StatusOr<std::string> body =
      internal::DecompressBody(compressed, kMaxBodyBytes, dictionary);
  if (body.ok() && body->size() > kMaxBodyBytes) __builtin_trap();  // the guard failed
  return 0;
}
