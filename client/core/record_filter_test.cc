#include "client/core/record_filter.h"

#include "gtest/gtest.h"

namespace temoin::client {
namespace {

OpenedRecord Sample() {
  OpenedRecord r;
  r.device_id = std::string(16, '\x01');
  v1::Testimony& t = r.testimony;
  t.set_narrative("Des hommes armés sont arrivés au marché de Ségou.");
  t.mutable_incident()->set_date("2026-03-14");
  t.mutable_incident()->set_region("segou");
  t.mutable_incident()->set_locality("Pélengana");
  t.add_acts()->set_type("abduction");
  t.add_perpetrators("non_state_armed_group");
  t.mutable_source()->set_type("eyewitness");
  v1::Victim* v = t.add_victims();
  v->set_name("Aïssata Traoré");
  v->set_sex("female");
  v->set_age_group("child");
  return r;
}

bool Matches(const RecordFilter& f, const OpenedRecord& r) {
  return FilterMatches(f, r, SearchableText(r));
}

TEST(RecordFilterTest, FoldsAccentsAndCase) {
  EXPECT_EQ(FoldForSearch("Ségou ÉLÈVE Œuvre Łódź"), "segou eleve ouvre lodz");
  EXPECT_EQ(FoldForSearch("Se\xCC\x81gou"), "segou");  // decomposed é
  EXPECT_EQ(FoldForSearch("2 × 3"), "2 \xC3\x97 3");   // not a letter: kept
  EXPECT_EQ(FoldForSearch("bad \xC3"), "bad \xC3");    // truncated UTF-8 kept as is
}

TEST(RecordFilterTest, TextSearchIsAccentInsensitiveOverNarrativeLocalityAndNames) {
  OpenedRecord r = Sample();
  for (const char* query : {"SEGOU", "pelengana", "aissata traore", "marche armes"}) {
    RecordFilter f;
    f.text = query;
    EXPECT_TRUE(Matches(f, r)) << query;
  }
  RecordFilter f;
  f.text = "segou bamako";
  EXPECT_FALSE(Matches(f, r));
}

TEST(RecordFilterTest, DateRangeOverlapsPartialDates) {
  OpenedRecord r = Sample();
  RecordFilter f;
  f.date_from = "2026-03";
  f.date_to = "2026-03";
  EXPECT_TRUE(Matches(f, r));
  f.date_from = "2026-03-15";
  f.date_to = "";
  EXPECT_FALSE(Matches(f, r));
  r.testimony.mutable_incident()->set_date("2026-03");  // the whole month
  EXPECT_TRUE(Matches(f, r));
  r.testimony.mutable_incident()->clear_date();
  f.date_from = "2000";
  EXPECT_FALSE(Matches(f, r));
}

TEST(RecordFilterTest, EachFieldFilters) {
  OpenedRecord r = Sample();
  auto check = [&](std::string RecordFilter::*field, const char* yes, const char* no) {
    RecordFilter f;
    f.*field = yes;
    EXPECT_TRUE(Matches(f, r)) << yes;
    f.*field = no;
    EXPECT_FALSE(Matches(f, r)) << no;
  };
  check(&RecordFilter::region, "segou", "gao");
  check(&RecordFilter::act, "abduction", "killing");
  check(&RecordFilter::perpetrator, "non_state_armed_group", "state_armed_forces");
  check(&RecordFilter::source_type, "eyewitness", "victim");
  check(&RecordFilter::victim_sex, "female", "male");
  check(&RecordFilter::victim_age_group, "child", "adult");
  check(&RecordFilter::sensitivity, "normal", "restricted");
  check(&RecordFilter::device, "01010101010101010101010101010101", "02");
}

TEST(RecordFilterTest, VictimCountsAnswerSexAndAgeFilters) {
  OpenedRecord r = Sample();
  r.testimony.clear_victims();
  r.testimony.mutable_victim_counts()->set_total(2);
  r.testimony.mutable_victim_counts()->set_boys(2);
  RecordFilter f;
  f.victim_sex = "male";
  f.victim_age_group = "child";
  EXPECT_TRUE(Matches(f, r));
  f.victim_age_group = "adult";
  EXPECT_FALSE(Matches(f, r));
}

}  // namespace
}  // namespace temoin::client
