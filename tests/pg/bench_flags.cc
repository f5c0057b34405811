#include "tests/pg/bench_flags.h"

#include <cstdio>

#include "absl/strings/numbers.h"

namespace temoin::testing {

bool ParsePositiveFlags(int argc, char** argv, const std::map<std::string, int*>& flags,
                        const char* usage) {
  if (argc % 2 == 0) {  // a name without its value
    std::fprintf(stderr, "usage: %s\n", usage);
    return false;
  }
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    int value = 0;
    if (!absl::SimpleAtoi(argv[i + 1], &value) || value <= 0) {
      std::fprintf(stderr, "bad value for %s\n", flag.c_str());
      return false;
    }
    const auto known = flags.find(flag);
    if (known == flags.end()) {
      std::fprintf(stderr, "usage: %s\n", usage);
      return false;
    }
    *known->second = value;
  }
  return true;
}

}  // namespace temoin::testing
