#include "client/sync/batch_sizer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>

namespace temoin::client {
namespace {

using Clock = BatchSizer::Clock;
using std::chrono::milliseconds;

Clock::time_point At(double seconds) {
  return Clock::time_point(
      std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds)));
}

struct LinkRun {
  double goodput = 0;             // payload ÷ (rate × time to the last answer)
  size_t largest_unanswered = 0;  // what a cut at the worst moment would cost
  size_t final_batch = 0;
  size_t final_window = 0;
  std::optional<double> rate;
};

// The upload's writer (sync_engine.cc StreamBatches) over a FIFO link of `rate` bytes a
// second and a round trip of `round_trip` seconds, with `server` seconds of work a batch:
// it writes while the window and the batch count allow and feeds each answer back.
// Every `bunch_every`th answer (0: none) is held back until just before the next one,
// and both come within a millisecond, as after a stall on a 2G link or while the device
// is busy.
LinkRun RunOverLink(double rate, double round_trip, size_t payload, size_t window_batches = 8,
                    double server = 0.005, int bunch_every = 0,
                    BatchSizer sizer = BatchSizer(8 << 10, 512 << 10)) {
  struct InFlight {
    size_t bytes;
    double sent, answer;
  };
  std::deque<InFlight> in_flight;
  size_t unanswered = 0, left = payload;
  double now = 0, link_free = 0;
  int answers = 0;
  LinkRun run;
  while (left > 0 || !in_flight.empty()) {
    while (left > 0 && in_flight.size() < window_batches &&
           (in_flight.empty() || unanswered + sizer.batch_bytes() <= sizer.window_bytes())) {
      size_t bytes = std::min(left, sizer.batch_bytes());
      left -= bytes;
      double start = std::max(now, link_free);
      link_free = start + static_cast<double>(bytes) / rate;
      in_flight.push_back({bytes, now, link_free + round_trip + server});
      unanswered += bytes;
      run.largest_unanswered = std::max(run.largest_unanswered, unanswered);
    }
    InFlight answered = in_flight.front();
    in_flight.pop_front();
    if (bunch_every > 0 && ++answers % bunch_every == 0 && !in_flight.empty()) {
      answered.answer = in_flight.front().answer - 0.001;
    }
    now = answered.answer;
    unanswered -= answered.bytes;
    sizer.OnAnswer(answered.bytes, At(answered.sent), At(answered.answer));
  }
  run.goodput = static_cast<double>(payload) / (rate * now);
  run.final_batch = sizer.batch_bytes();
  run.final_window = sizer.window_bytes();
  run.rate = sizer.rate();
  return run;
}

TEST(BatchSizerTest, FillsAClean256kLinkWithA600msRoundTrip) {
  // The clean row: 1,000 records of ~1.3 KB through 256 kbit/s + 300 ms each way.
  // Slow start alone (the sizer before the rate phase) left up to 768 KiB unanswered
  // here, and in sync_bench its 256 KiB batches drained the window to nothing twice a
  // cycle (0.82 of the link).
  LinkRun run = RunOverLink(32000, 0.6, 1'300'000);
  EXPECT_GE(run.goodput, 0.95);
  ASSERT_TRUE(run.rate.has_value());
  EXPECT_NEAR(*run.rate, 32000, 1600);
  EXPECT_NEAR(static_cast<double>(run.final_batch), 16000, 800);
  // The round trip's 19.2 KB plus two batches, and whatever slow start reached before
  // the rate was known: never a quarter of a megabyte lost to a cut.
  EXPECT_LE(run.largest_unanswered, 100u << 10);
}

TEST(BatchSizerTest, BunchedAnswersDoNotBlowUpTheWindow) {
  // One answer in ten arrives with the next: the gap after it is near zero, a "rate"
  // of megabytes a second. Taken at face value it made 512 KiB batches (16 s of air).
  for (int every : {10, 5, 3}) {
    LinkRun run = RunOverLink(32000, 0.6, 1'300'000, 8, 0.005, every);
    EXPECT_LE(run.largest_unanswered, 100u << 10) << "one answer in " << every;
    EXPECT_GE(run.goodput, 0.9) << "one answer in " << every;
    ASSERT_TRUE(run.rate.has_value());
    EXPECT_LT(*run.rate, 2 * 32000.0) << "one answer in " << every;
  }
}

TEST(BatchSizerTest, AFasterLinkIsFollowed) {
  // Three samples in a row four times the rate are a faster link, not bunching.
  BatchSizer sizer(8 << 10, 512 << 10);
  double t = 1.0;
  sizer.OnAnswer(8000, At(0), At(t));  // fastest: 1 s
  for (int i = 0; i < 4; ++i) {
    t += 0.25;  // 8 KB in 0.25 s: 32 KB/s
    sizer.OnAnswer(8000, At(0), At(t));
  }
  ASSERT_TRUE(sizer.rate().has_value());
  EXPECT_NEAR(*sizer.rate(), 32000, 100);
  for (int i = 0; i < 6; ++i) {
    t += 0.05;  // 160 KB/s from now on
    sizer.OnAnswer(8000, At(0), At(t));
  }
  EXPECT_NEAR(*sizer.rate(), 160000, 1000);
}

TEST(BatchSizerTest, TheWindowCoversTheRoundTripLessTheBatchsAirTime) {
  LinkRun run = RunOverLink(32000, 0.6, 1'300'000);
  ASSERT_TRUE(run.rate.has_value());
  // 0.6 s of round trip at 32 KB/s plus two 16 KB batches; counting the fastest
  // answer's own air time as round trip would give ~59 KB.
  BatchSizer sizer(8 << 10, 512 << 10);
  double t = 0.856;
  sizer.OnAnswer(8192, At(0), At(t));  // 0.6 s + 8192 B at 32 KB/s
  for (int i = 0; i < 10; ++i) {
    t += 8192 / 32000.0;
    sizer.OnAnswer(8192, At(0), At(t));
  }
  EXPECT_NEAR(static_cast<double>(sizer.window_bytes()), 0.6 * 32000 + 2 * 16000, 1500);
}

TEST(BatchSizerTest, Fills2GWithA600msRoundTripInSmallBatches) {
  LinkRun run = RunOverLink(8000, 0.6, 1'300'000);
  EXPECT_GE(run.goodput, 0.95);
  EXPECT_EQ(run.final_batch, 8u << 10);          // half a second is 4 KB: the floor holds
  EXPECT_LE(run.largest_unanswered, 48u << 10);  // slow start's first doubling
}

TEST(BatchSizerTest, LoopbackReachesFullBatches) {
  LinkRun run = RunOverLink(200e6, 0.0002, 13'000'000);
  EXPECT_EQ(run.final_batch, 512u << 10);
}

TEST(BatchSizerTest, ABatchSentToAnIdleLinkIsNoRateSample) {
  // Each batch waits for the answer before it: every gap holds a round trip, and
  // taking it for air time would read a 32 KB/s link as 10 KB/s.
  BatchSizer sizer(8 << 10, 512 << 10);
  double t = 0;
  for (int i = 0; i < 6; ++i) {
    double answer = t + 0.6 + 8192 / 32000.0;
    sizer.OnAnswer(8192, At(t), At(answer));
    t = answer;
  }
  EXPECT_FALSE(sizer.rate().has_value());
}

TEST(BatchSizerTest, OneShortGapIsNotTheRate) {
  // Two answers that arrive together (the server answered two batches at once) give
  // one sample far above the link; the rate needs a second sample and takes a median.
  BatchSizer sizer(8 << 10, 512 << 10);
  sizer.OnAnswer(8192, At(0), At(0.9));
  sizer.OnAnswer(8192, At(0), At(0.901));
  EXPECT_FALSE(sizer.rate().has_value());
  sizer.OnAnswer(8192, At(0), At(1.157));
  sizer.OnAnswer(8192, At(0.2), At(1.413));
  ASSERT_TRUE(sizer.rate().has_value());
  EXPECT_NEAR(*sizer.rate(), 32000, 500);
}

TEST(BatchSizerTest, SlowStartDoublesFastAnswersUpToTheMaximum) {
  BatchSizer sizer(8 << 10, 512 << 10);
  EXPECT_EQ(sizer.batch_bytes(), 8u << 10);
  EXPECT_EQ(sizer.window_bytes(), 24u << 10);
  double t = 0;
  for (int i = 0; i < 10; ++i, t += 1) sizer.OnAnswer(1000, At(t), At(t + 0.005));
  EXPECT_EQ(sizer.batch_bytes(), 512u << 10);
  EXPECT_EQ(sizer.window_bytes(), 3u * (512 << 10));
}

TEST(BatchSizerTest, SlowStartHoldsOnceAnswersQueue) {
  BatchSizer sizer(8 << 10, 512 << 10);
  // Each batch sent after the previous answer: no rate sample, slow start steers.
  sizer.OnAnswer(8192, At(0), At(1.6));  // 8 KiB at 64 kbit/s plus a 600 ms round trip
  EXPECT_EQ(sizer.batch_bytes(), 16u << 10);
  sizer.OnAnswer(8192, At(1.6), At(4.2));  // within twice the fastest: still growing
  EXPECT_EQ(sizer.batch_bytes(), 32u << 10);
  sizer.OnAnswer(8192, At(4.2), At(8.7));  // queueing: hold
  EXPECT_EQ(sizer.batch_bytes(), 32u << 10);
  sizer.OnAnswer(8192, At(8.7), At(15.7));  // over four times the fastest: halve
  EXPECT_EQ(sizer.batch_bytes(), 16u << 10);
}

TEST(BatchSizerTest, NeverBelowTheInitialSize) {
  BatchSizer sizer(8 << 10, 512 << 10);
  sizer.OnAnswer(8192, At(0), At(0.2));
  double t = 0.2;
  for (int i = 0; i < 5; ++i, t += 5) sizer.OnAnswer(8192, At(t), At(t + 5));
  EXPECT_EQ(sizer.batch_bytes(), 8u << 10);
}

TEST(BatchSizerTest, InitialAboveMaximumIsCapped) {
  BatchSizer sizer(1 << 20, 64 << 10);
  EXPECT_EQ(sizer.batch_bytes(), 64u << 10);
}

TEST(BatchSizerTest, ACutCappedBatchStillCoversTheRoundTrip) {
  // After cuts the batch is capped (SizedForTheLink); the window still covers the
  // round trip with more, smaller batches.
  BatchSizer sizer(4 << 10, 4 << 10);
  double t = 0;
  // Batches queued back to back on 32 KB/s with a 600 ms round trip.
  double link_free = 0;
  for (int i = 0; i < 8; ++i) {
    link_free += 4096 / 32000.0;
    sizer.OnAnswer(4096, At(0), At(link_free + 0.6));
    t = link_free + 0.6;
  }
  ASSERT_TRUE(sizer.rate().has_value());
  EXPECT_EQ(sizer.batch_bytes(), 4u << 10);
  EXPECT_GE(sizer.window_bytes(), 19200u + 2 * 4096);
  (void)t;
}

TEST(BatchSizerTest, AfterACutOneBatchAtATimeWhereTheAnswerCrossesAtOnce) {
  // The row of 64 kbit/s cut every ~64 KiB: SizedForTheLink caps batches at
  // 4 KiB (0.5 s of air) and asks for two at least. An answer crosses in ~25 ms, under an
  // eighth of that, so one batch goes at a time: a cut loses one batch, not two, and the
  // link idles only while each answer crosses.
  constexpr size_t kBatch = 4 << 10;
  LinkRun run = RunOverLink(8000, 0.02, 300'000, 8, 0.005, 0, BatchSizer(kBatch, kBatch, 2));
  ASSERT_TRUE(run.rate.has_value()) << "the link was never timed";
  EXPECT_GE(run.goodput, 0.93);
  // Slow start's three before the rate is known, then one.
  EXPECT_LE(run.largest_unanswered, 3 * kBatch);
  EXPECT_LT(run.final_window, 2 * kBatch);
}

TEST(BatchSizerTest, AfterACutTwoBatchesBeyondARoundTripOfAnEighthOfABatchOrMore) {
  // 4 KiB batches are 0.128 s of air at 256 kbit/s: a 100 ms round trip is far more than
  // an eighth of that, and one batch at a time would idle the link almost half the time.
  constexpr size_t kBatch = 4 << 10;
  for (double round_trip : {0.06, 0.1}) {
    LinkRun run =
        RunOverLink(32000, round_trip, 600'000, 8, 0.005, 0, BatchSizer(kBatch, kBatch, 2));
    ASSERT_TRUE(run.rate.has_value()) << round_trip;
    EXPECT_GE(run.goodput, 0.95) << round_trip;
    EXPECT_GE(run.final_window, 2 * kBatch) << round_trip;
  }
}

TEST(BatchSizerTest, AfterACutAStallInSlowStartDoesNotLeaveOneBatchOnA600msRoundTrip) {
  // Every second answer held back and delivered with the next, as after a stall on a 2G
  // link: one rate sample can read low and the round trip then as nothing. One batch at
  // a time would idle a 600 ms link most of the time, and no later sample would show it.
  constexpr size_t kBatch = 4 << 10;
  LinkRun run = RunOverLink(8000, 0.6, 300'000, 8, 0.005, 2, BatchSizer(kBatch, kBatch, 2));
  ASSERT_TRUE(run.rate.has_value());
  EXPECT_GE(run.goodput, 0.8);
}

TEST(BatchSizerTest, AfterACutTwoBatchesStillCoverA600msRoundTrip) {
  // Two batches in slow start would time the link only once, and leave 4 KiB batches
  // (0.5 s of air) waiting a round trip of 0.6 s each: the link must still be timed, and
  // the window grow to the round trip plus two batches.
  constexpr size_t kBatch = 4 << 10;
  for (double rate : {8000.0, 32000.0}) {
    LinkRun run = RunOverLink(rate, 0.6, 300'000, 8, 0.005, 0, BatchSizer(kBatch, kBatch, 2));
    ASSERT_TRUE(run.rate.has_value()) << rate;
    EXPECT_GE(run.goodput, 0.9) << rate;
  }
}

}  // namespace
}  // namespace temoin::client
