#ifndef TEMOIN_TESTS_FUZZ_FUZZ_SUPPORT_H_
#define TEMOIN_TESTS_FUZZ_FUZZ_SUPPORT_H_

// What every libFuzzer target here shares: crypto initialised once, and a
// `--write-seeds=DIR` mode that writes the target's seed inputs (real, valid inputs
// made by the real code: a sealed record, a signed receipt, a bundle...) to DIR and
// exits, before libFuzzer parses its own flags. tests/fuzz/write_seeds.sh runs it for
// every target into tests/fuzz/corpus/<target>/.

#include <cstdint>
#include <string>
#include <vector>

namespace temoin::fuzz {

// Initialises libsodium; aborts if it cannot (a broken harness is not a finding).
void InitializeForFuzzing();

// Handles --write-seeds=DIR in argv: writes seeds() to DIR/seed-N and exits 0.
void MaybeWriteSeeds(int argc, char** argv, std::vector<std::string> (*seeds)());

}  // namespace temoin::fuzz

// Defines LLVMFuzzerInitialize for a target whose seeds come from `seeds_fn`.
#define TEMOIN_FUZZ_SEEDS(seeds_fn)                              \
  extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv) { \
    ::temoin::fuzz::InitializeForFuzzing();                      \
    ::temoin::fuzz::MaybeWriteSeeds(*argc, *argv, seeds_fn);     \
    return 0;                                                    \
  }

#endif  // TEMOIN_TESTS_FUZZ_FUZZ_SUPPORT_H_
