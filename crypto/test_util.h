#ifndef TEMOIN_CRYPTO_TEST_UTIL_H_
#define TEMOIN_CRYPTO_TEST_UTIL_H_

// Shared by the crypto unit tests only. Synthetic data: no real person appears here.

#include <gtest/gtest.h>

#include <string>

#include "crypto/keys.h"
#include "crypto/sodium_init.h"
#include "temoin/v1/testimony.pb.h"

namespace temoin::crypto::test {

// Runs InitializeCrypto() once per test binary, before any test.
class CryptoEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { ASSERT_TRUE(InitializeCrypto().ok()); }
};
inline ::testing::Environment* const kCryptoEnvironment =
    ::testing::AddGlobalTestEnvironment(new CryptoEnvironment);

// `size` bytes all equal to `fill`: readable fixed ids and seeds.
inline std::string Filled(size_t size, char fill) { return std::string(size, fill); }

inline v1::Testimony SampleTestimony() {
  v1::Testimony t;
  t.set_narrative(
      "Witness A (synthetic) reports that on the morning of the market day armed men "
      "entered the village, burned two granaries and took three young men away.");
  t.set_language("fr");
  t.mutable_incident()->set_date("2026-03-14");
  t.mutable_incident()->set_region("ML-6");
  t.mutable_incident()->set_locality("Village X (synthetic)");
  v1::Act* act = t.add_acts();
  act->set_type("abduction");
  act->set_count(3);
  v1::Victim* victim = t.add_victims();
  victim->set_name("Person One (synthetic)");
  victim->set_sex("m");
  victim->set_age(19);
  t.mutable_victim_counts()->set_total(3);
  t.mutable_victim_counts()->set_men(3);
  t.add_perpetrators("unidentified_armed_group");
  t.mutable_source()->set_type("direct_witness");
  t.mutable_consent()->set_informed(true);
  return t;
}

}  // namespace temoin::crypto::test

#endif  // TEMOIN_CRYPTO_TEST_UTIL_H_
