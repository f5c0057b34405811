#include "client/core/duplicates.h"

#include <filesystem>

#include "crypto/sodium_init.h"
#include "gtest/gtest.h"

namespace temoin::client {
namespace {

OpenedRecord Incident(const char* date, const char* region, const char* locality, const char* act,
                      const char* victim = "") {
  OpenedRecord r;
  v1::Testimony& t = r.testimony;
  t.mutable_incident()->set_date(date);
  t.mutable_incident()->set_region(region);
  t.mutable_incident()->set_locality(locality);
  t.add_acts()->set_type(act);
  if (*victim != '\0') t.add_victims()->set_name(victim);
  return r;
}

TEST(DuplicatesTest, NamesAreComparedNormalisedAndFuzzily) {
  EXPECT_TRUE(SimilarNames("Aïssata Traoré", "traore aissata"));
  EXPECT_TRUE(SimilarNames("Aissata Traore", "Aisata Traore"));  // one letter
  EXPECT_FALSE(SimilarNames("Aissata Traore", "Mariam Coulibaly"));
  EXPECT_FALSE(SimilarNames("", "x"));
}

TEST(DuplicatesTest, DistanceIsGreatCircle) {
  // Gao to Bourem is about 85 km.
  EXPECT_NEAR(DistanceKm(16.27, -0.04, 16.95, -0.35), 82, 5);
  EXPECT_NEAR(DistanceKm(16.27, -0.04, 16.27, -0.04), 0, 1e-9);
}

TEST(DuplicatesTest, GroupsASeededSetAsExpected) {
  std::vector<OpenedRecord> records = {
      Incident("2026-03-14", "segou", "Pélengana", "abduction", "Aïssata Traoré"),    // 0
      Incident("2026-03-16", "segou", "PELENGANA", "abduction", "Aissata Traore"),    // 1: with 0
      Incident("2026-03-17", "segou", "pelengana", "abduction"),                      // 2: with 1
      Incident("2026-03-25", "segou", "Pélengana", "abduction"),                      // 3: too late
      Incident("2026-03-14", "segou", "Pélengana", "killing"),                        // 4: no act
      Incident("2026-03-14", "mopti", "Pélengana", "abduction"),                      // 5: region
      Incident("2026-03", "segou", "Pélengana", "abduction"),                         // 6: partial
      Incident("2026-03-15", "segou", "Pélengana", "abduction", "Mariam Coulibaly"),  // 7
      Incident("2026-05-01", "gao", "A", "killing"),                                  // 8: near 9
      Incident("2026-05-02", "gao", "B", "killing"),                                  // 9
  };
  for (int i : {8, 9}) {
    records[i].testimony.mutable_incident()->set_latitude(16.27 + 0.03 * (i - 8));
    records[i].testimony.mutable_incident()->set_longitude(-0.04);
    records[i].testimony.mutable_incident()->set_precision_m(50);
  }
  // 7 names another victim than 0 and 1: not linked to them, but linked to 2 (which
  // names nobody) so it joins the group through 2.
  std::vector<DuplicateGroup> groups = FindPossibleDuplicates(records);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0].members, (std::vector<size_t>{0, 1, 2, 7}));
  EXPECT_EQ(groups[1].members, (std::vector<size_t>{8, 9}));
  bool explained = false;
  for (const DuplicateLink& link : groups[0].links) {
    EXPECT_FALSE((link.a == 0 || link.a == 1) && link.b == 7) << link.reason;
    if (link.a == 0 && link.b == 1) {
      EXPECT_NE(link.reason.find("same region and locality"), std::string::npos);
      EXPECT_NE(link.reason.find("2 days apart"), std::string::npos);
      EXPECT_NE(link.reason.find("abduction"), std::string::npos);
      EXPECT_NE(link.reason.find("similar victim names"), std::string::npos);
      explained = true;
    }
  }
  EXPECT_TRUE(explained);
  EXPECT_NE(groups[1].links[0].reason.find("km apart"), std::string::npos);
}

TEST(DuplicatesTest, DecisionsAreKeptInTheVaultAndConfirmedGroupsCountOnce) {
  ASSERT_TRUE(crypto::InitializeCrypto().ok());
  std::vector<OpenedRecord> records = {
      Incident("2026-03-14", "segou", "Pélengana", "abduction"),
      Incident("2026-03-15", "segou", "Pélengana", "abduction"),
      Incident("2026-03-16", "segou", "Pélengana", "abduction"),
      Incident("2026-04-01", "gao", "Gao", "killing"),
      Incident("2026-04-01", "gao", "Gao", "killing"),
  };
  for (size_t i = 0; i < records.size(); ++i) records[i].record_id = std::string(16, 'a' + i);
  std::vector<DuplicateGroup> groups = FindPossibleDuplicates(records);
  ASSERT_EQ(groups.size(), 2u);
  const std::string home = ::testing::TempDir() + "/duplicates-vault";
  std::filesystem::remove_all(home);
  auto vault = Vault::Create(home, "a passphrase for the test");
  ASSERT_TRUE(vault.ok()) << vault.status();
  ASSERT_TRUE(
      StoreDuplicateDecision(**vault, GroupKey(records, groups[0]), DuplicateDecision::kConfirmed)
          .ok());
  ASSERT_TRUE(
      StoreDuplicateDecision(**vault, GroupKey(records, groups[1]), DuplicateDecision::kSplit)
          .ok());
  auto decisions = LoadDuplicateDecisions(**vault);
  ASSERT_TRUE(decisions.ok());
  EXPECT_EQ(DecisionFor(*decisions, GroupKey(records, groups[0])), DuplicateDecision::kConfirmed);
  EXPECT_EQ(DecisionFor(*decisions, GroupKey(records, groups[1])), DuplicateDecision::kSplit);
  EXPECT_EQ(RepeatsOfConfirmedIncidents(records, *decisions), (std::vector<size_t>{1, 2}));

  // A new record joining the confirmed group makes it undecided again.
  records.push_back(Incident("2026-03-17", "segou", "Pélengana", "abduction"));
  records.back().record_id = std::string(16, 'z');
  EXPECT_TRUE(RepeatsOfConfirmedIncidents(records, *decisions).empty());

  ASSERT_TRUE(
      StoreDuplicateDecision(**vault, GroupKey(records, groups[1]), DuplicateDecision::kUndecided)
          .ok());
  decisions = LoadDuplicateDecisions(**vault);
  ASSERT_TRUE(decisions.ok());
  EXPECT_EQ(decisions->size(), 1u);
}

}  // namespace
}  // namespace temoin::client
