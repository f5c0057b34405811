#include "client/sync/batch_sizer.h"

#include <gtest/gtest.h>

namespace temoin::client {
namespace {

using std::chrono::milliseconds;

TEST(BatchSizerTest, FastAnswersDoubleUpToTheMaximum) {
  BatchSizer sizer(8 << 10, 512 << 10);
  EXPECT_EQ(sizer.batch_bytes(), 8u << 10);
  for (int i = 0; i < 10; ++i) sizer.OnAnswer(milliseconds(5));
  EXPECT_EQ(sizer.batch_bytes(), 512u << 10);
}

TEST(BatchSizerTest, SlowLinkHoldsOnceAnswersQueue) {
  BatchSizer sizer(8 << 10, 512 << 10);
  sizer.OnAnswer(milliseconds(1600));  // 8 KiB at 64 kbit/s plus a 600 ms round trip
  EXPECT_EQ(sizer.batch_bytes(), 16u << 10);
  sizer.OnAnswer(milliseconds(2600));  // within twice the fastest: still growing
  EXPECT_EQ(sizer.batch_bytes(), 32u << 10);
  sizer.OnAnswer(milliseconds(4500));  // queueing: hold
  EXPECT_EQ(sizer.batch_bytes(), 32u << 10);
  sizer.OnAnswer(milliseconds(7000));  // over four times the fastest: halve
  EXPECT_EQ(sizer.batch_bytes(), 16u << 10);
}

TEST(BatchSizerTest, NeverBelowTheInitialSize) {
  BatchSizer sizer(8 << 10, 512 << 10);
  sizer.OnAnswer(milliseconds(200));
  for (int i = 0; i < 5; ++i) sizer.OnAnswer(milliseconds(5000));
  EXPECT_EQ(sizer.batch_bytes(), 8u << 10);
}

TEST(BatchSizerTest, InitialAboveMaximumIsCapped) {
  BatchSizer sizer(1 << 20, 64 << 10);
  EXPECT_EQ(sizer.batch_bytes(), 64u << 10);
}

}  // namespace
}  // namespace temoin::client
