#include "client/core/stats.h"

#include "gtest/gtest.h"

namespace temoin::client {
namespace {

OpenedRecord Record(const std::string& date, const std::string& region,
                    std::vector<std::pair<std::string, uint32_t>> acts,
                    std::vector<std::string> perpetrators, uint32_t victims) {
  OpenedRecord r;
  r.testimony.mutable_incident()->set_date(date);
  r.testimony.mutable_incident()->set_region(region);
  for (auto& [type, count] : acts) {
    v1::Act* act = r.testimony.add_acts();
    act->set_type(type);
    act->set_count(count);
  }
  for (auto& p : perpetrators) r.testimony.add_perpetrators(p);
  r.testimony.mutable_victim_counts()->set_total(victims);
  return r;
}

TEST(StatsTest, CountsActsVictimsRegionsPerpetratorsAndMonths) {
  std::vector<OpenedRecord> records = {
      Record("2026-03-14", "mopti", {{"killing", 3}, {"looting", 0}}, {"unknown", "unknown"}, 3),
      Record("2026-03", "mopti", {{"killing", 2}}, {"community_militia"}, 0),
      Record("", "", {{"abduction", 1}}, {}, 1),
  };
  records[1].testimony.add_victims()->set_name("Synthname A");
  records[2].testimony.set_sensitivity(v1::SENSITIVITY_RESTRICTED);
  Stats stats = ComputeStats(records);
  EXPECT_EQ(stats.records, 3u);
  EXPECT_EQ(stats.victims, 5u);  // 3 + one listed victim + 1
  EXPECT_EQ(stats.restricted, 1u);
  EXPECT_EQ(stats.acts["killing"], 5u);
  EXPECT_EQ(stats.acts["looting"], 1u);  // no count: happened at least once
  EXPECT_EQ(stats.regions["mopti"], 2u);
  EXPECT_EQ(stats.regions["unknown"], 1u);
  EXPECT_EQ(stats.perpetrators["unknown"], 1u);  // named twice in one record: once
  EXPECT_EQ(stats.months["2026-03"], 2u);
  EXPECT_EQ(stats.months["unknown"], 1u);
}

TEST(StatsTest, NoRecordsGiveZeroes) {
  Stats stats = ComputeStats(std::vector<OpenedRecord>{});
  EXPECT_EQ(stats.records, 0u);
  EXPECT_TRUE(stats.acts.empty());
}

}  // namespace
TEST(StatsTest, QuartersAndTheirChangeAsTheReportsGiveThem) {
  std::vector<OpenedRecord> records;
  for (int i = 0; i < 4; ++i) records.push_back(Record("2025-11-02", "gao", {}, {}, 0));
  for (int i = 0; i < 6; ++i) records.push_back(Record("2026-02", "gao", {}, {}, 0));
  records.push_back(Record("2026", "gao", {}, {}, 0));
  Stats stats = ComputeStats(records);
  EXPECT_EQ(stats.quarters["2025-Q4"], 4u);
  EXPECT_EQ(stats.quarters["2026-Q1"], 6u);
  EXPECT_EQ(stats.quarters["unknown"], 1u);
  EXPECT_DOUBLE_EQ(*QuarterChangePercent(stats.quarters, "2026-Q1"), 50.0);
  EXPECT_FALSE(QuarterChangePercent(stats.quarters, "2025-Q4").has_value());
  EXPECT_FALSE(QuarterChangePercent(stats.quarters, "unknown").has_value());
}

TEST(StatsTest, VictimsByGroupFromCountsOrFromTheListedVictims) {
  OpenedRecord counted = Record("2026-03-01", "gao", {}, {}, 7);
  v1::VictimCounts* c = counted.testimony.mutable_victim_counts();
  c->set_women(1);
  c->set_men(2);
  c->set_girls(3);
  OpenedRecord listed = Record("2026-03-01", "gao", {}, {}, 0);
  auto add = [&](const char* sex, const char* group, uint32_t age) {
    v1::Victim* v = listed.testimony.add_victims();
    v->set_sex(sex);
    v->set_age_group(group);
    v->set_age(age);
  };
  add("male", "", 12);  // a boy by age
  add("female", "adult", 0);
  add("unknown", "child", 0);
  OpenedRecord grown = Record("2026-03-01", "gao", {}, {}, 0);
  grown.testimony.add_victims()->set_sex("male");  // age unknown
  Stats stats = ComputeStats({counted, listed, grown});
  EXPECT_EQ(stats.women, 2u);
  EXPECT_EQ(stats.men, 2u);
  EXPECT_EQ(stats.girls, 3u);
  EXPECT_EQ(stats.boys, 1u);
  EXPECT_EQ(stats.victims_unknown, 1u + 2u);  // counted: 7 - 6 known; listed: 1; grown: 1
  EXPECT_EQ(stats.records_with_child_victims, 2u);
}

TEST(StatsTest, OnlyVerifiedRecordsFromDevicesNotUnderDuressCount) {
  OpenedRecord r = Record("2026-03-01", "gao", {}, {}, 0);
  r.verified = true;
  EXPECT_TRUE(CountsInStatistics(r));
  r.quarantined = true;  // its device signalled duress
  EXPECT_FALSE(CountsInStatistics(r));
  r.quarantined = false;
  r.verified = false;
  EXPECT_FALSE(CountsInStatistics(r));
}

TEST(StatsTest, RefsAndCopiesGiveTheSameFigures) {
  std::vector<OpenedRecord> records = {Record("2026-03-01", "gao", {}, {}, 0),
                                       Record("2026-05-02", "mopti", {}, {}, 0)};
  Stats by_copy = ComputeStats(records);
  Stats by_ref = ComputeStats(RefsTo(records));
  EXPECT_EQ(by_ref.records, 2u);
  EXPECT_EQ(by_ref.regions, by_copy.regions);
  EXPECT_EQ(by_ref.quarters, by_copy.quarters);
}

}  // namespace temoin::client
