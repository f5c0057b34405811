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
  Stats stats = ComputeStats({});
  EXPECT_EQ(stats.records, 0u);
  EXPECT_TRUE(stats.acts.empty());
}

}  // namespace
}  // namespace temoin::client
