// Testimony JSON (common/vocabulary.h), as `temoin record --from FILE` reads it: parse,
// then validate against the default vocabulary. (A check that error messages quote no
// run of the input was tried and dropped: the fuzzer soon wrote the parser's own fixed
// wording into the input. vocabulary_test checks redaction with planted values.)
#include <cstddef>
#include <cstdint>

#include "common/vocabulary.h"
#include "tests/fuzz/fuzz_support.h"

namespace temoin::fuzz {
namespace {

std::vector<std::string> Seeds() {
  return {
      R"({"narrative": "n", "incident": {"date": "2026-03", "region": "gao"},
          "acts": [{"type": "looting", "count": 3}], "perpetrators": ["unknown"],
          "sensitivity": "SENSITIVITY_RESTRICTED"})",
      R"({"narrative": "Witness (synthetic) reports a burned granary.", "language": "fr",
          "incident": {"date": "2026-03-14", "region": "ML-6", "latitude": 14.49,
                       "longitude": -4.19},
          "acts": [{"type": "abduction", "count": 2}],
          "victims": [{"age": 30, "sex": "female"}],
          "consent": {"informed": true},
          "amends": "0123456789abcdef0123456789abcdef"})",
  };
}

const v1::Vocabulary& Vocabulary() {
  static const v1::Vocabulary* vocabulary = new v1::Vocabulary(*DefaultVocabulary());
  return *vocabulary;
}

}  // namespace
}  // namespace temoin::fuzz

TEMOIN_FUZZ_SEEDS(temoin::fuzz::Seeds)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace temoin;
  static const v1::Vocabulary& vocabulary = fuzz::Vocabulary();
  absl::string_view json(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<v1::Testimony> testimony = ParseTestimonyJson(json);
  if (testimony.ok()) (void)ValidateTestimony(*testimony, vocabulary);
  return 0;
}
