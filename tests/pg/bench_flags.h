#ifndef TEMOIN_TESTS_PG_BENCH_FLAGS_H_
#define TEMOIN_TESTS_PG_BENCH_FLAGS_H_

#include <map>
#include <string>

namespace temoin::testing {

// Reads `--name N` pairs into `flags` (each name to the int it sets): every value must
// be a positive integer and every name known. On a bad value or name prints why, or
// `usage`, to stderr and returns false (the benches then exit 2).
bool ParsePositiveFlags(int argc, char** argv, const std::map<std::string, int*>& flags,
                        const char* usage);

}  // namespace temoin::testing

#endif  // TEMOIN_TESTS_PG_BENCH_FLAGS_H_
