// `temoin sync --watch`, the real binaries: a monitor leaves the watch running, records
// testimonies in another process now and then, and each goes up as soon as it is saved,
// over the one connection the watch keeps (counted by the link simulator). The server
// going away does not lock the monitor out of the vault: records saved while the watch
// waits to retry go up once the server is back.

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/e2e/deployment.h"
#include "tests/e2e/synthetic_testimony.h"
#include "tests/netsim/link_simulator.h"

namespace temoin::e2e {
namespace {

using std::chrono::seconds;

// Waits until the watch's log holds `needle` at least `n` times.
bool LogReaches(const std::string& log_path, const std::string& needle, int n,
                seconds timeout = seconds(60)) {
  return AwaitInFile(log_path, needle, n, timeout).ok();
}

class WatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto made = Deployment::Create("temoin-e2e-watch", /*monitors=*/1);
    ASSERT_TRUE(made.ok()) << made.status();
    d_ = std::move(*made);
    monitor_ = d_->monitors()[0];
    log_ = d_->dir().Sub("watch.log");
  }

  // One testimony, saved by `temoin record` while the watch runs; its id.
  std::string RecordOne() {
    auto recorded = d_->Record(monitor_, {generator_.Next()});
    EXPECT_TRUE(recorded.ok()) << recorded.status();
    return recorded.ok() ? recorded->front().first : "";
  }

  std::string Log() { return ReadFile(log_).value_or("(no log)"); }
  int Occurrences(const std::string& needle) {
    const std::string log = Log();
    int n = 0;
    for (size_t at = log.find(needle); at != std::string::npos; at = log.find(needle, at + 1)) ++n;
    return n;
  }

  // `sync --watch` through `route`, once its first round is over (nullptr on failure).
  std::unique_ptr<ChildProcess> StartWatch(const std::string& route,
                                           const std::string& interval = "3600") {
    auto watch = d_->StartTemoin(
        monitor_, {"sync", "--watch", "--interval", interval, "--server", route}, log_);
    EXPECT_TRUE(watch.ok()) << watch.status();
    if (!watch.ok()) return nullptr;
    EXPECT_TRUE(LogReaches(log_, "sync: watching", 1)) << Log();
    return std::move(*watch);
  }
  std::string Direct() const { return absl::StrCat("127.0.0.1:", d_->port()); }

  // Whether the watch ended on its own within `timeout`.
  static bool EndsWithin(ChildProcess& watch, seconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (watch.Running() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return !watch.Running();
  }

  std::unique_ptr<Deployment> d_;
  std::string monitor_, log_;
  TestimonyGenerator generator_{20261206};
};

TEST_F(WatchTest, EachRecordGoesUpAsSoonAsItIsSavedOverOneConnection) {
  netsim::LinkSimulator link(netsim::LinkOptions{.target_port = d_->port()});
  ASSERT_TRUE(link.Start().ok());
  const std::string route = absl::StrCat("127.0.0.1:", link.port());
  std::unique_ptr<ChildProcess> watch = StartWatch(route);
  ASSERT_NE(watch, nullptr);

  std::vector<std::string> ids;
  for (int i = 1; i <= 3; ++i) {
    ids.push_back(RecordOne());
    // No sync command: the watch saw the record saved and sent it.
    ASSERT_TRUE(LogReaches(log_, "sync: 1 receipts verified", i)) << Log();
  }
  EXPECT_EQ(link.counters().connections, 1)
      << "the watch dialled again between syncs instead of keeping its connection";
  ASSERT_TRUE(LogReaches(log_, "sync: watching", 4)) << Log();  // waiting again

  auto exported = d_->ReviewerExport();
  ASSERT_TRUE(exported.ok()) << exported.status();
  for (const std::string& id : ids) {
    int found = 0;
    for (const nlohmann::json& element : *exported) found += element.value("record_id", "") == id;
    EXPECT_EQ(found, 1) << id;
  }

  // Ctrl-C while it waits: a clean stop, and the vault is free at once.
  EXPECT_EQ(watch->Terminate(seconds(10), SIGINT), 0) << Log();
  EXPECT_TRUE(absl::StrContains(Log(), "sync: watch stopped")) << Log();
  CommandResult status = d_->Temoin(monitor_, {"status", "--json"});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_FALSE(absl::StrContains(status.err, "waiting")) << status.err;
  EXPECT_TRUE(absl::StrContains(status.out, "\"sealed\":0")) << status.out;
  link.Stop();
}

TEST_F(WatchTest, RecordsSavedWhileTheServerIsAwayGoUpWhenItIsBack) {
  std::unique_ptr<ChildProcess> watch = StartWatch(Direct());
  ASSERT_NE(watch, nullptr);

  d_->StopServer();
  const std::string first = RecordOne();
  ASSERT_TRUE(LogReaches(log_, "retrying in", 1)) << Log();
  // The watch backs off with the store released: the monitor can go on recording.
  const auto before = std::chrono::steady_clock::now();
  const std::string second = RecordOne();
  EXPECT_LT(std::chrono::steady_clock::now() - before, seconds(20))
      << "recording waited for the watch";
  ASSERT_TRUE(d_->StartServer().ok());
  ASSERT_TRUE(LogReaches(log_, "sync: 2 receipts verified", 1, seconds(120))) << Log();
  ASSERT_TRUE(LogReaches(log_, "sync: watching", 2)) << Log();
  EXPECT_TRUE(watch->Running()) << "a server away is no reason to stop watching";
  EXPECT_EQ(watch->Terminate(seconds(10)), 0) << Log();
  auto counts = d_->RecordCounts(monitor_);
  ASSERT_TRUE(counts.ok()) << counts.status();
  EXPECT_EQ((*counts)["sealed"], 0) << counts->dump();
}

TEST_F(WatchTest, ARevokedDeviceEndsTheWatchWithTheReason) {
  std::unique_ptr<ChildProcess> watch = StartWatch(Direct());
  ASSERT_NE(watch, nullptr);
  ASSERT_TRUE(d_->Run(d_->admin(), {"revoke", d_->monitor_ids()[0]}).ok());
  RecordOne();
  ASSERT_TRUE(EndsWithin(*watch, seconds(60))) << Log();
  EXPECT_NE(watch->exit_code(), 0);
  EXPECT_TRUE(absl::StrContains(Log(), "revoked")) << Log();
  // The admin's wipe order reached the device through its kept session: the vault is
  // gone, as after a one-shot sync (access_control_test).
  EXPECT_FALSE(std::filesystem::exists(monitor_ + "/vault.key")) << Log();
  EXPECT_FALSE(std::filesystem::exists(monitor_ + "/store")) << Log();
}

// The kept connection trusts what the profile trusts now, not what it trusted when it
// was dialled: after `temoin repin` (here to a key the server does not hold, as if
// someone had rotated it) the next record is not sent over the old connection; the watch
// dials afresh, meets a key it no longer trusts, and stops with the advice.
TEST_F(WatchTest, ARepinWhileWatchingIsHonouredAtTheNextRecord) {
  std::unique_ptr<ChildProcess> watch = StartWatch(Direct());
  ASSERT_NE(watch, nullptr);
  const std::string other_key(64, 'a');
  ASSERT_TRUE(d_->Run(monitor_, {"repin", "--pin", other_key}).ok());
  RecordOne();
  ASSERT_TRUE(EndsWithin(*watch, seconds(60))) << Log();
  EXPECT_NE(watch->exit_code(), 0);
  EXPECT_TRUE(absl::StrContains(Log(), "not the key this device pinned")) << Log();
  EXPECT_FALSE(absl::StrContains(Log(), "1 receipts verified"))
      << "the record went over a connection the device no longer trusts";
}

// With nothing saved, each interval still reaches the server (a fresh sign-in: settings,
// key announcements, a revocation), over the connection the watch keeps.
TEST_F(WatchTest, EachIntervalSignsInAfreshOverTheKeptConnection) {
  netsim::LinkSimulator link(netsim::LinkOptions{.target_port = d_->port()});
  ASSERT_TRUE(link.Start().ok());
  std::unique_ptr<ChildProcess> watch =
      StartWatch(absl::StrCat("127.0.0.1:", link.port()), /*interval=*/"2");
  ASSERT_NE(watch, nullptr);
  const int64_t after_first = link.counters().up_forwarded;
  ASSERT_TRUE(LogReaches(log_, "sync: watching", 3)) << Log();
  EXPECT_GT(link.counters().up_forwarded - after_first, 300)
      << "interval rounds made no call: the device would never hear of a revocation";
  EXPECT_EQ(link.counters().connections, 1);
  // A round every 2 s: the signal may land in one (130, ended like any sync) or between.
  const int code = watch->Terminate(seconds(10), SIGINT);
  EXPECT_TRUE(code == 0 || code == 130) << code << "\n" << Log();
  link.Stop();
}

// The server's TLS key rotated while a watch runs (issue 12's procedure): an interval
// round signs in afresh and learns the announced key, and after the switch the watch
// dials the new key with no repin and goes on sending records.
TEST_F(WatchTest, ATlsKeyRotatedWhileWatchingKeepsRecordsGoingUp) {
  std::unique_ptr<ChildProcess> watch = StartWatch(Direct(), /*interval=*/"1");
  ASSERT_NE(watch, nullptr);
  absl::StatusOr<std::string> next_pin = d_->ServerTls("next");
  ASSERT_TRUE(next_pin.ok()) << next_pin.status();
  ASSERT_TRUE(d_->Run(d_->admin(), {"admin", "rotate-tls", "--pin", *next_pin}).ok());
  // Two more interval rounds: the second began after the announcement was made.
  const int rounds = Occurrences("sync: watching");
  ASSERT_TRUE(LogReaches(log_, "sync: watching", rounds + 2)) << Log();

  d_->StopServer();
  absl::StatusOr<std::string> switched = d_->ServerTls("switch");
  ASSERT_TRUE(switched.ok()) << switched.status();
  ASSERT_EQ(*switched, *next_pin);
  ASSERT_TRUE(d_->StartServer().ok());

  const std::string id = RecordOne();
  ASSERT_TRUE(LogReaches(log_, "sync: 1 receipts verified", 1, seconds(90))) << Log();
  EXPECT_TRUE(watch->Running()) << Log();
  EXPECT_FALSE(absl::StrContains(Log(), "repin")) << Log();
  absl::StatusOr<Deployment::ServerListing> listing = d_->ListServerRecords();
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_NE(std::find(listing->record_ids.begin(), listing->record_ids.end(), id),
            listing->record_ids.end());
  const int code = watch->Terminate(seconds(10), SIGINT);
  EXPECT_TRUE(code == 0 || code == 130) << code << "\n" << Log();
}

TEST_F(WatchTest, WatchRefusesOptionsItCannotHonour) {
  CommandResult r = d_->Temoin(monitor_, {"sync", "--watch", "--until-done"});
  EXPECT_NE(r.exit_code, 0);
  r = d_->Temoin(monitor_, {"sync", "--interval", "5"});
  EXPECT_NE(r.exit_code, 0) << "--interval without --watch";
  r = d_->Temoin(monitor_, {"sync", "--watch", "--interval", "0"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_TRUE(absl::StrContains(r.err, "--interval")) << r.err;
}

}  // namespace
}  // namespace temoin::e2e
