#ifndef TEMOIN_TESTS_E2E_SYNTHETIC_TESTIMONY_H_
#define TEMOIN_TESTS_E2E_SYNTHETIC_TESTIMONY_H_

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "temoin/v1/testimony.pb.h"

namespace temoin::e2e {

// Synthetic testimonies for tests. Every person, place and story is invented: never put
// a real person's name here (DESIGN.md). Every vocabulary code is valid for
// data/vocabulary.json. Deterministic for a given seed. Not thread-safe.
class TestimonyGenerator {
 public:
  explicit TestimonyGenerator(uint32_t seed) : seed_(seed), rng_(seed) {}

  // The next testimony (index 0, 1, 2, ...). Its narrative contains
  // NarrativeMarker(seed, index), its victims are named VictimName(seed, index, j), and
  // its locality is Locality(seed, index).
  v1::Testimony Next();

  static std::string NarrativeMarker(uint32_t seed, int index);
  static std::string VictimName(uint32_t seed, int index, int victim);
  static std::string Locality(uint32_t seed, int index);

  // Every marker, name and locality of the testimonies made so far: the strings a
  // plaintext scan must not find where only sealed data belongs.
  const std::vector<std::string>& SecretStrings() const { return secrets_; }

 private:
  template <typename T, size_t N>
  const T& Pick(const T (&items)[N]) {
    return items[std::uniform_int_distribution<size_t>(0, N - 1)(rng_)];
  }
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }

  std::string Narrative(int index);
  void FillIncident(int index, v1::Incident* incident);
  void FillActsAndPerpetrators(v1::Testimony* t);
  void FillVictims(int index, v1::Testimony* t);

  uint32_t seed_;
  std::mt19937 rng_;
  int next_index_ = 0;
  std::vector<std::string> secrets_;
};

// Proto3 JSON of a testimony with the proto's own field names, the form that
// `temoin record --from` reads and `temoin review export` writes.
std::string TestimonyToJson(const v1::Testimony& testimony);

}  // namespace temoin::e2e

#endif  // TEMOIN_TESTS_E2E_SYNTHETIC_TESTIMONY_H_
