#include "tests/fuzz/fuzz_support.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "crypto/sodium_init.h"

namespace temoin::fuzz {

void InitializeForFuzzing() {
  if (!crypto::InitializeCrypto().ok()) {
    std::fprintf(stderr, "fuzz: libsodium does not initialise\n");
    std::abort();
  }
}

void MaybeWriteSeeds(int argc, char** argv, std::vector<std::string> (*seeds)()) {
  constexpr std::string_view kFlag = "--write-seeds=";
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg.substr(0, kFlag.size()) != kFlag) continue;
    std::filesystem::path dir(std::string(arg.substr(kFlag.size())));
    std::filesystem::create_directories(dir);
    std::vector<std::string> inputs = seeds();
    for (size_t n = 0; n < inputs.size(); ++n) {
      std::ofstream out(dir / ("seed-" + std::to_string(n)), std::ios::binary | std::ios::trunc);
      out.write(inputs[n].data(), static_cast<std::streamsize>(inputs[n].size()));
      if (!out) {
        std::fprintf(stderr, "fuzz: cannot write seeds to %s\n", dir.c_str());
        std::exit(1);
      }
    }
    std::fprintf(stderr, "fuzz: %zu seeds written to %s\n", inputs.size(), dir.c_str());
    std::exit(0);
  }
}

}  // namespace temoin::fuzz
