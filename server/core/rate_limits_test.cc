// RateLimiter on a FakeClock: the limits, the sliding window, the day boundary, device
// independence and bounded memory, without sleeping.
#include "server/core/rate_limits.h"

#include <gtest/gtest.h>

#include <string>

#include "absl/strings/str_cat.h"

namespace temoin::server {
namespace {

using ::absl::StatusCode;

// 2026-06-01 00:00:00 UTC: a day boundary, so tests can place themselves within a day.
constexpr int64_t kMidnight = 1'780'272'000;
static_assert(kMidnight % 86'400 == 0);

RateLimits Limits(uint32_t per_minute, uint64_t per_day, size_t max_devices = 1000) {
  RateLimits limits;
  limits.batches_per_minute = per_minute;
  limits.bytes_per_day = per_day;
  limits.max_tracked_devices = max_devices;
  return limits;
}

TEST(RateLimiterTest, RefusesTheBatchOverTheLimitWithRetryHint) {
  FakeClock clock(kMidnight + 3600);
  RateLimiter limiter(&clock, Limits(3, 1 << 30));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.AdmitBatch("device-a", 100).ok()) << i;
  absl::Status refused = limiter.AdmitBatch("device-a", 100);
  EXPECT_EQ(refused.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.message(),
            "upload rate limit reached: at most 3 batches per minute; retry in 20 s");
}

TEST(RateLimiterTest, WindowSlidesOneBatchAtATime) {
  FakeClock clock(kMidnight + 3600);
  RateLimiter limiter(&clock, Limits(2, 1 << 30));
  ASSERT_TRUE(limiter.AdmitBatch("device-a", 1).ok());
  ASSERT_TRUE(limiter.AdmitBatch("device-a", 1).ok());
  EXPECT_FALSE(limiter.AdmitBatch("device-a", 1).ok());
  clock.Advance(29);
  absl::Status early = limiter.AdmitBatch("device-a", 1);
  EXPECT_EQ(early.message(),
            "upload rate limit reached: at most 2 batches per minute; retry in 1 s");
  clock.Advance(1);  // 30 s: one batch's worth has come back, not two
  EXPECT_TRUE(limiter.AdmitBatch("device-a", 1).ok());
  EXPECT_FALSE(limiter.AdmitBatch("device-a", 1).ok());
  clock.Advance(60);  // a whole minute idle refills the bucket, and no more
  EXPECT_TRUE(limiter.AdmitBatch("device-a", 1).ok());
  EXPECT_TRUE(limiter.AdmitBatch("device-a", 1).ok());
  EXPECT_FALSE(limiter.AdmitBatch("device-a", 1).ok());
}

TEST(RateLimiterTest, RefusedBatchIsNotCounted) {
  FakeClock clock(kMidnight + 3600);
  RateLimiter limiter(&clock, Limits(1, 1000));
  ASSERT_TRUE(limiter.AdmitBatch("device-a", 10).ok());
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(limiter.AdmitBatch("device-a", 10).ok());
  clock.Advance(60);
  EXPECT_TRUE(limiter.AdmitBatch("device-a", 10).ok());
}

TEST(RateLimiterTest, DailyQuotaCountsBatchesAndSlicesAndResetsAtMidnight) {
  FakeClock clock(kMidnight + 86'400 - 120);
  RateLimiter limiter(&clock, Limits(600, 3ull << 20));
  ASSERT_TRUE(limiter.AdmitBatch("device-a", 1ull << 20).ok());
  ASSERT_TRUE(limiter.AdmitBytes("device-a", 1ull << 20).ok());
  // The item that crosses the quota still goes through: nothing is ever stuck behind
  // a quota smaller than itself.
  ASSERT_TRUE(limiter.AdmitBytes("device-a", 5ull << 20).ok());
  absl::Status batch = limiter.AdmitBatch("device-a", 1);
  EXPECT_EQ(batch.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(batch.message(), "daily upload quota of 3 MiB reached for this device");
  EXPECT_EQ(limiter.AdmitBytes("device-a", 1).code(), StatusCode::kResourceExhausted);
  clock.Advance(119);  // 23:59:59, still the same day
  EXPECT_FALSE(limiter.AdmitBytes("device-a", 1).ok());
  clock.Advance(1);  // 00:00:00 UTC
  EXPECT_TRUE(limiter.AdmitBatch("device-a", 1).ok());
}

TEST(RateLimiterTest, DevicesAreIndependent) {
  FakeClock clock(kMidnight + 3600);
  RateLimiter limiter(&clock, Limits(1, 100));
  ASSERT_TRUE(limiter.AdmitBatch("device-a", 200).ok());
  EXPECT_FALSE(limiter.AdmitBatch("device-a", 1).ok());
  EXPECT_FALSE(limiter.AdmitBytes("device-a", 1).ok());
  EXPECT_TRUE(limiter.AdmitBatch("device-b", 50).ok());
  EXPECT_TRUE(limiter.AdmitBytes("device-b", 10).ok());
}

TEST(RateLimiterTest, IdleDevicesAreForgottenAndActiveOnesKept) {
  FakeClock clock(kMidnight + 3600);
  RateLimiter limiter(&clock, Limits(10, 1 << 20));
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(limiter.AdmitBatch(absl::StrCat("idle-", i), 0).ok());
  }
  ASSERT_TRUE(limiter.AdmitBatch("busy", 1000).ok());  // bytes today: must be kept
  EXPECT_EQ(limiter.TrackedDevices(), 51u);
  clock.Advance(61);
  ASSERT_TRUE(limiter.AdmitBatch("busy", 1).ok());  // triggers the sweep
  EXPECT_EQ(limiter.TrackedDevices(), 1u);
  clock.Advance(86'400);  // the next day: its quota carries nothing any more
  ASSERT_TRUE(limiter.AdmitBatch("other", 0).ok());
  EXPECT_EQ(limiter.TrackedDevices(), 1u);
}

TEST(RateLimiterTest, MemoryStaysBoundedUnderManyActiveDevices) {
  FakeClock clock(kMidnight + 3600);
  RateLimiter limiter(&clock, Limits(1, 1 << 20, /*max_devices=*/100));
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(limiter.AdmitBatch(absl::StrCat("device-", i), 10).ok());
    if (i % 10 == 0) clock.Advance(1);
  }
  EXPECT_LE(limiter.TrackedDevices(), 100u);
  // The most recent devices are still counted.
  EXPECT_FALSE(limiter.AdmitBatch("device-999", 10).ok());
}

}  // namespace
}  // namespace temoin::server
