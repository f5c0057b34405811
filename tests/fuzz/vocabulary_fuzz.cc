// The vocabulary (common/vocabulary.h): a server ships it to devices in settings and
// an operator may replace the file, so its parser takes any JSON.
#include <cstddef>
#include <cstdint>

#include "common/vocabulary.h"
#include "tests/fuzz/fuzz_support.h"

namespace temoin::fuzz {
namespace {

std::vector<std::string> Seeds() {
  return {std::string(DefaultVocabularyJson()),
          R"({"version": 1, "regions": [{"code": "gao", "label_en": "Gao", "label_fr": "Gao"}]})"};
}

}  // namespace
}  // namespace temoin::fuzz

TEMOIN_FUZZ_SEEDS(temoin::fuzz::Seeds)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace temoin;
  absl::StatusOr<v1::Vocabulary> vocabulary =
      ParseVocabulary(absl::string_view(reinterpret_cast<const char*>(data), size));
  if (vocabulary.ok()) (void)DescribeVocabularyList(vocabulary->acts());
  return 0;
}
