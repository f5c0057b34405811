// The bounds the RPC layer puts on calls, without a network: the stream watchdog's
// deadlines, the open-call caps, the enrolment guard and the worker pool.

#include <atomic>
#include <chrono>
#include <thread>

#include "gtest/gtest.h"
#include "server/rpc/call_rate_limiter.h"
#include "server/rpc/enrollment_guard.h"
#include "server/rpc/open_call_counter.h"
#include "server/rpc/stream_watchdog.h"
#include "server/rpc/work_pool.h"

namespace temoin::server {
namespace {

using std::chrono::seconds;
using Clock = StreamWatchdog::Clock;

TEST(StreamWatchdogTest, ExpiresAStreamWithNoFirstMessage) {
  StreamWatchdog dog(seconds(120), seconds(600));
  Clock::time_point t0 = Clock::now();
  absl::Status why;
  auto watch = dog.Add([&](absl::Status s) { why = s; }, t0);
  EXPECT_EQ(dog.Tick(t0 + seconds(119)), 0);
  EXPECT_EQ(dog.Tick(t0 + seconds(121)), 1);
  EXPECT_EQ(why.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_NE(why.message().find("no message within 120 s"), std::string::npos) << why;
  EXPECT_EQ(dog.Tick(t0 + seconds(200)), 0) << "expired once only";
  dog.Remove(watch);
  EXPECT_EQ(dog.size(), 0u);
}

TEST(StreamWatchdogTest, ProgressMovesTheDeadlineToIdle) {
  StreamWatchdog dog(seconds(120), seconds(600));
  Clock::time_point t0 = Clock::now();
  int expired = 0;
  auto watch = dog.Add(
      [&](absl::Status s) {
        ++expired;
        EXPECT_NE(s.message().find("idle for 600 s"), std::string::npos) << s;
      },
      t0);
  dog.Touch(*watch, t0 + seconds(100));
  EXPECT_EQ(dog.Tick(t0 + seconds(650)), 0);
  dog.Touch(*watch, t0 + seconds(650));
  EXPECT_EQ(dog.Tick(t0 + seconds(1200)), 0);
  EXPECT_EQ(dog.Tick(t0 + seconds(1251)), 1);
  EXPECT_EQ(expired, 1);
  dog.Remove(watch);
}

TEST(StreamWatchdogTest, RemovedWatchIsNeverExpired) {
  StreamWatchdog dog(seconds(1), seconds(1));
  Clock::time_point t0 = Clock::now();
  bool called = false;
  auto watch = dog.Add([&](absl::Status) { called = true; }, t0);
  dog.Remove(watch);
  dog.Remove(watch);  // twice is harmless
  EXPECT_EQ(dog.Tick(t0 + seconds(10)), 0);
  EXPECT_FALSE(called);
}

TEST(StreamWatchdogTest, RemovalFromInsideTheCallbackDoesNotDeadlock) {
  // What a reactor whose OnDone runs on the expiring thread does.
  StreamWatchdog dog(seconds(1), seconds(1));
  Clock::time_point t0 = Clock::now();
  std::shared_ptr<StreamWatchdog::Watch> watch;
  watch = dog.Add([&](absl::Status) { dog.Remove(watch); }, t0);
  EXPECT_EQ(dog.Tick(t0 + seconds(5)), 1);
  EXPECT_EQ(dog.size(), 0u);
}

TEST(StreamWatchdogTest, ConcurrentRemovalAndExpiry) {
  StreamWatchdog dog(seconds(0), seconds(0));
  std::atomic<int> calls{0};
  std::vector<std::shared_ptr<StreamWatchdog::Watch>> watches;
  for (int i = 0; i < 2000; ++i)
    watches.push_back(dog.Add([&](absl::Status) { ++calls; }, Clock::now()));
  std::thread ticker([&] {
    for (int i = 0; i < 50; ++i) dog.Tick(Clock::now() + seconds(1));
  });
  for (auto& w : watches) dog.Remove(w);
  ticker.join();
  EXPECT_LE(calls.load(), 2000);
  EXPECT_EQ(dog.size(), 0u);
}

TEST(OpenCallCounterTest, CapsEachKeyAndReleasesOnDestruction) {
  OpenCallCounter counter(2);
  {
    Admission a, b, c;
    EXPECT_TRUE(counter.TryOpen("dev-a", &a));
    EXPECT_TRUE(counter.TryOpen("dev-a", &b));
    EXPECT_FALSE(counter.TryOpen("dev-a", &c)) << "third call of one device";
    Admission other;
    EXPECT_TRUE(counter.TryOpen("dev-b", &other)) << "another device is not affected";
    EXPECT_EQ(counter.open("dev-a"), 2);
    Admission moved = std::move(a);
    EXPECT_EQ(counter.open("dev-a"), 2) << "moving an admission keeps one count";
  }
  EXPECT_EQ(counter.open("dev-a"), 0);
  EXPECT_EQ(counter.open("dev-b"), 0);
  Admission again;
  EXPECT_TRUE(counter.TryOpen("dev-a", &again));
}

TEST(OpenCallCounterTest, SourceAddressDropsThePort) {
  EXPECT_EQ(SourceAddressOfPeer("ipv4:127.0.0.1:5555"), "127.0.0.1");
  EXPECT_EQ(SourceAddressOfPeer("ipv6:[::1]:443"), "::1");
  EXPECT_EQ(SourceAddressOfPeer("ipv6:[2001:db8::7]:1"), "2001:db8::7");
  EXPECT_EQ(SourceAddressOfPeer("unix:/tmp/s"), "unix:/tmp/s");
}

TEST(EnrollmentGuardTest, RefusesASourcePastItsFailuresAndReportsOnce) {
  EnrollmentGuardLimits limits;
  limits.max_failures_per_source = 3;
  limits.max_failures_per_code = 100;
  EnrollmentGuard guard(limits);
  int reported = 0;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(guard.Admit("10.0.0.1", "code" + std::to_string(i), 1000).ok());
    reported += guard.RecordFailure("10.0.0.1", "code" + std::to_string(i), 1000);
  }
  EXPECT_EQ(reported, 1);
  absl::Status refused = guard.Admit("10.0.0.1", "fresh", 1001);
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(refused.message().find("too many enrolment attempts"), std::string::npos);
  EXPECT_FALSE(guard.RecordFailure("10.0.0.1", "fresh", 1001)) << "reported once per window";
  EXPECT_TRUE(guard.Admit("10.0.0.2", "fresh", 1001).ok()) << "other sources unaffected";
  EXPECT_TRUE(guard.Admit("10.0.0.1", "fresh", 1000 + limits.window_seconds).ok())
      << "the window ends";
}

TEST(EnrollmentGuardTest, RefusesACodePastItsFailuresFromAnySource) {
  EnrollmentGuardLimits limits;
  limits.max_failures_per_code = 2;
  EnrollmentGuard guard(limits);
  guard.RecordFailure("a", "the-code", 5);
  guard.RecordFailure("b", "the-code", 5);
  EXPECT_EQ(guard.Admit("c", "the-code", 6).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(guard.Admit("c", "another-code", 6).ok());
}

TEST(EnrollmentGuardTest, StaysBoundedUnderManySources) {
  EnrollmentGuardLimits limits;
  limits.max_tracked = 100;
  EnrollmentGuard guard(limits);
  for (int i = 0; i < 10000; ++i) {
    guard.RecordFailure("src" + std::to_string(i), "c" + std::to_string(i), 7);
  }
  // Nothing to observe but that it ran in bounded memory; the newest source still counts.
  for (int i = 0; i < limits.max_failures_per_source; ++i) guard.RecordFailure("last", "x", 7);
  EXPECT_FALSE(guard.Admit("last", "y", 8).ok());
}

TEST(WorkPoolTest, RunsJobsAndRefusesPastItsQueue) {
  std::atomic<int> ran{0};
  std::mutex gate;
  gate.lock();
  {
    WorkPool pool(1, 2);
    std::atomic<bool> started{false};
    EXPECT_TRUE(pool.TrySubmit([&] {
      started = true;
      std::lock_guard l(gate);  // holds the only thread
      ++ran;
    }));
    while (!started) std::this_thread::yield();
    int accepted = 0;
    while (pool.TrySubmit([&] { ++ran; })) ++accepted;
    EXPECT_EQ(accepted, 2) << "the queue holds two";
    gate.unlock();
  }  // destruction runs what was queued
  EXPECT_GE(ran.load(), 3);
}

}  // namespace
}  // namespace temoin::server

namespace temoin::server {
namespace {

TEST(CallRateLimiterTest, BurstThenSustainedRatePerDevice) {
  CallRateLimiter limiter(/*per_second=*/10, /*burst=*/20);
  auto t0 = CallRateLimiter::Clock::now();
  int taken = 0;
  for (int i = 0; i < 100; ++i) taken += limiter.TryTake("dev", t0);
  EXPECT_EQ(taken, 20) << "the burst";
  EXPECT_TRUE(limiter.TryTake("other", t0)) << "another device has its own bucket";
  EXPECT_FALSE(limiter.TryTake("dev", t0 + std::chrono::milliseconds(50)));
  EXPECT_TRUE(limiter.TryTake("dev", t0 + std::chrono::milliseconds(150))) << "refilled at 10/s";
  taken = 0;
  for (int i = 0; i < 100; ++i) taken += limiter.TryTake("dev", t0 + std::chrono::seconds(600));
  EXPECT_EQ(taken, 20) << "full again after a long pause, not more";
}

}  // namespace
}  // namespace temoin::server
