#include "client/sync/upload_window.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

namespace temoin::client {
namespace {

UploadWindow::Limits EightKiB() {
  return {.initial_batch_bytes = 8 << 10,
          .max_batch_bytes = 512 << 10,
          .max_batches = 8,
          .max_window_bytes = 2 << 20};
}

TEST(UploadWindowTest, ThreeFirstBatchesGoAtOnceAndTheFourthWaitsForAnAnswer) {
  UploadWindow window(EightKiB());
  for (uint64_t id = 0; id < 3; ++id) {
    ASSERT_EQ(window.NextBatchBytes(), std::optional<size_t>(8 << 10));
    window.Sent(id, 8 << 10);
  }
  std::atomic<bool> went{false};
  std::optional<size_t> fourth;
  std::thread writer([&] {
    fourth = window.NextBatchBytes();
    went = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(went) << "a fourth 8 KiB batch went past a 24 KiB window";
  window.Answered(0);
  writer.join();
  ASSERT_TRUE(fourth.has_value());
  EXPECT_EQ(*fourth, 16u << 10);  // a fast answer doubles the batch in slow start
}

TEST(UploadWindowTest, CloseEndsAWaitingWriter) {
  UploadWindow window(EightKiB());
  for (uint64_t id = 0; id < 3; ++id) window.Sent(id, 8 << 10);
  std::optional<size_t> next = 1;
  std::thread writer([&] { next = window.NextBatchBytes(); });
  window.Close();
  writer.join();
  EXPECT_FALSE(next.has_value());
  EXPECT_FALSE(window.NextBatchBytes().has_value());
}

TEST(UploadWindowTest, AnAnswerToNoSentBatchChangesNothing) {
  UploadWindow window(EightKiB());
  for (uint64_t id = 0; id < 3; ++id) window.Sent(id, 8 << 10);
  window.Answered(7);  // the sign-in's or the closing's answer: no batch of its own
  std::atomic<bool> went{false};
  std::thread writer([&] {
    window.NextBatchBytes();
    went = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(went);
  window.Close();
  writer.join();
}

// Whether NextBatchBytes returns within 50 ms (it blocks while the window is full).
bool GoesAtOnce(UploadWindow& window) {
  std::atomic<bool> went{false};
  std::thread writer([&] {
    window.NextBatchBytes();
    went = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const bool at_once = went;
  window.Close();
  writer.join();
  return at_once;
}

TEST(UploadWindowTest, TheBatchCountBoundsSmallBatches) {
  // Batches far under their target (few records left): the count still bounds them.
  UploadWindow window({.initial_batch_bytes = 8 << 10,
                       .max_batch_bytes = 512 << 10,
                       .max_batches = 2,
                       .max_window_bytes = 2 << 20});
  window.Sent(0, 100);
  window.Sent(1, 100);
  EXPECT_FALSE(GoesAtOnce(window));
  UploadWindow roomier({.initial_batch_bytes = 8 << 10,
                        .max_batch_bytes = 512 << 10,
                        .max_batches = 3,
                        .max_window_bytes = 2 << 20});
  roomier.Sent(0, 100);
  roomier.Sent(1, 100);
  EXPECT_TRUE(GoesAtOnce(roomier));
}

TEST(UploadWindowTest, TheByteCapBoundsWhatTheSizerAllows) {
  // The sizer allows 24 KiB; a cap of 12 KiB lets one 8 KiB batch go, not two.
  UploadWindow window({.initial_batch_bytes = 8 << 10,
                       .max_batch_bytes = 512 << 10,
                       .max_batches = 8,
                       .max_window_bytes = 12 << 10});
  window.Sent(0, 8 << 10);
  EXPECT_FALSE(GoesAtOnce(window));
  UploadWindow uncapped(EightKiB());
  uncapped.Sent(0, 8 << 10);
  EXPECT_TRUE(GoesAtOnce(uncapped));
}

TEST(UploadWindowTest, OneBatchAlwaysGoesWhenNoneIsUnanswered) {
  // A batch larger than the window (one record of 100 KB) still goes alone.
  UploadWindow window({.initial_batch_bytes = 8 << 10,
                       .max_batch_bytes = 8 << 10,
                       .max_batches = 1,
                       .max_window_bytes = 4 << 10});
  ASSERT_TRUE(window.NextBatchBytes().has_value());
  window.Sent(0, 100 << 10);
  window.Answered(0);
  EXPECT_TRUE(window.NextBatchBytes().has_value());
}

TEST(UploadWindowTest, TheFewestBatchesGoWhateverTheirBytes) {
  // Slow start's three batches: a second and a third go even when the first was a single
  // record three times the target; a fourth waits for the window. Without the count floor
  // the second waited a round trip.
  auto with_sent = [](std::vector<size_t> sizes) {
    auto window = std::make_unique<UploadWindow>(EightKiB());
    for (uint64_t id = 0; id < sizes.size(); ++id) window->Sent(id, sizes[id]);
    return window;
  };
  EXPECT_TRUE(GoesAtOnce(*with_sent({24 << 10})));
  EXPECT_TRUE(GoesAtOnce(*with_sent({24 << 10, 8 << 10})));
  EXPECT_FALSE(GoesAtOnce(*with_sent({24 << 10, 8 << 10, 8 << 10})));
}

}  // namespace
}  // namespace temoin::client
