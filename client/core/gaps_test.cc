#include "client/core/gaps.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace temoin::client {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

OpenedRecord Record(const std::string& device, uint64_t seq, bool verified = true) {
  OpenedRecord r;
  r.device_id = device;
  r.project = "gao-2026";
  r.device_seq = seq;
  r.verified = verified;
  return r;
}

TEST(GapsTest, NamesEachMissingRangePerDevice) {
  std::vector<DeviceGaps> gaps = FindGaps({Record("b", 2), Record("a", 1), Record("a", 4),
                                           Record("a", 5), Record("a", 9), Record("b", 3)});
  ASSERT_EQ(gaps.size(), 2u);
  EXPECT_EQ(gaps[0].device_id, "a");
  EXPECT_EQ(gaps[0].received, 4u);
  EXPECT_EQ(gaps[0].highest, 9u);
  EXPECT_THAT(gaps[0].missing, ElementsAre(Pair(2, 3), Pair(6, 8)));
  EXPECT_EQ(gaps[1].device_id, "b");
  EXPECT_THAT(gaps[1].missing, ElementsAre(Pair(1, 1)));
}

TEST(GapsTest, ADuplicateNumberIsOneRecordAndAFullRunHasNoGap) {
  std::vector<DeviceGaps> gaps = FindGaps({Record("a", 1), Record("a", 2), Record("a", 2)});
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].received, 2u);
  EXPECT_THAT(gaps[0].missing, IsEmpty());
}

TEST(GapsTest, UnverifiedRecordsFillNoGap) {
  // An unverified header could claim any device and number: it must not hide a gap.
  std::vector<DeviceGaps> gaps = FindGaps({Record("a", 1), Record("a", 2, false), Record("a", 3)});
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_THAT(gaps[0].missing, ElementsAre(Pair(2, 2)));
}

}  // namespace
}  // namespace temoin::client
