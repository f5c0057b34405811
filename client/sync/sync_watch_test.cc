#include "client/sync/sync_watch.h"

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "client/vault/vault_wipe.h"
#include "crypto/sodium_init.h"
#include "gtest/gtest.h"

namespace temoin::client {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
constexpr char kPassphrase[] = "watch test passphrase";

// The watch runs in a thread of its own, as `temoin sync --watch` runs in a process of its
// own; the test plays the other temoin commands and the user's Ctrl-C (a pipe).
class SyncWatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::InitializeCrypto().ok());
    home_ = (fs::temp_directory_path() /
             ("sync_watch_test_" + std::to_string(::getpid()) + "_" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name()))
                .string();
    fs::remove_all(home_);
    auto vault = Vault::Create(home_, kPassphrase, VaultOptions{kKdfFloor});
    ASSERT_TRUE(vault.ok()) << vault.status();
    vault_ = std::move(*vault);
    ASSERT_EQ(pipe(stop_), 0);
    options_.stop_fd = stop_[0];
    options_.interval = std::chrono::hours(1);
  }
  void TearDown() override {
    Stop();
    if (watch_.joinable()) watch_.join();
    close(stop_[0]);
    close(stop_[1]);
    vault_.reset();
    fs::remove_all(home_);
  }

  void Start(SyncRound round) {
    watch_ =
        std::thread([this, round] { result_ = WatchAndSync(*vault_, home_, options_, round); });
  }
  void Stop() {
    if (!stopped_.exchange(true)) {
      ASSERT_EQ(write(stop_[1], "x", 1), 1);
    }
  }
  absl::Status Join() {
    watch_.join();
    return result_;
  }

  // A round that keeps what it saw: whether it was due, and whether the vault was held.
  SyncRound Recording() {
    return [this](Vault& vault, RoundReason reason) -> absl::StatusOr<RoundOutcome> {
      std::lock_guard<std::mutex> lock(mu_);
      auto saved = vault.Get("outbox", "saved");
      rounds_.push_back({reason, saved.ok(), saved.ok() && saved->has_value()});
      changed_.notify_all();
      return RoundOutcome{};
    };
  }
  struct Round {
    RoundReason reason;
    bool held, saw_saved;
  };
  bool WaitForRounds(size_t n, milliseconds timeout = milliseconds(15000)) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, timeout, [&] { return rounds_.size() >= n; });
  }
  std::vector<Round> Rounds() {
    std::lock_guard<std::mutex> lock(mu_);
    return rounds_;
  }

  std::string home_;
  std::unique_ptr<Vault> vault_;
  int stop_[2] = {-1, -1};
  std::atomic<bool> stopped_{false};
  WatchOptions options_;
  std::thread watch_;
  absl::Status result_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<Round> rounds_;
};

TEST_F(SyncWatchTest, ARecordSavedByAnotherCommandStartsARoundAtOnce) {
  Start(Recording());
  ASSERT_TRUE(WaitForRounds(1));
  {
    // `temoin record` in another process: it opens the store the watch released and holds
    // it a while, so the watch, woken by the first write, must wait for it.
    auto other = Vault::Open(home_, kPassphrase);
    ASSERT_TRUE(other.ok()) << other.status();
    ASSERT_TRUE((*other)->Put("outbox", "saved", "sealed bytes").ok());
    std::this_thread::sleep_for(milliseconds(500));
  }
  ASSERT_TRUE(WaitForRounds(2)) << "no round after a record was saved";
  Stop();
  EXPECT_TRUE(Join().ok()) << result_;
  std::vector<Round> rounds = Rounds();
  EXPECT_EQ(rounds[0].reason, RoundReason::kInterval);
  EXPECT_FALSE(rounds[0].saw_saved);
  EXPECT_EQ(rounds[1].reason, RoundReason::kChanged);
  EXPECT_TRUE(rounds[1].held);
  EXPECT_TRUE(rounds[1].saw_saved);
  // Stopped while waiting: the store is free for the next command.
  EXPECT_TRUE(vault_->released());
  EXPECT_TRUE(Vault::Open(home_, kPassphrase).ok());
}

TEST_F(SyncWatchTest, TheWatchsOwnWritesDoNotWakeIt) {
  Start([this](Vault& vault, RoundReason reason) -> absl::StatusOr<RoundOutcome> {
    EXPECT_TRUE(vault.Put("outbox", "receipt", "stored by the round").ok());
    return Recording()(vault, reason);
  });
  ASSERT_TRUE(WaitForRounds(1));
  EXPECT_FALSE(WaitForRounds(2, milliseconds(1500))) << "the round's own write woke the watch";
}

TEST_F(SyncWatchTest, TheIntervalStartsRoundsWithNothingSaved) {
  options_.interval = milliseconds(100);
  Start(Recording());
  ASSERT_TRUE(WaitForRounds(4));
  Stop();
  EXPECT_TRUE(Join().ok());
  for (const Round& round : Rounds()) {
    EXPECT_EQ(round.reason, RoundReason::kInterval);
    EXPECT_TRUE(round.held);
  }
}

TEST_F(SyncWatchTest, AFailedRoundIsRetriedAfterItsWaitAndAnErrorEndsTheWatch) {
  std::vector<RoundReason> reasons;
  Start([&reasons](Vault&, RoundReason reason) -> absl::StatusOr<RoundOutcome> {
    reasons.push_back(reason);
    if (reasons.size() == 1) return RoundOutcome{.retry_after = milliseconds(20)};  // link down
    return absl::PermissionDeniedError("device has been revoked");
  });
  absl::Status ended = Join();
  EXPECT_EQ(ended.code(), absl::StatusCode::kPermissionDenied) << ended;
  EXPECT_EQ(reasons, (std::vector<RoundReason>{RoundReason::kInterval, RoundReason::kRetry}));
}

// A `temoin status` between a failed attempt and its retry must not cancel the retry.
TEST_F(SyncWatchTest, AChangeWithNothingToSendKeepsThePendingRetry) {
  std::vector<RoundReason> reasons;
  std::mutex mu;
  Start([&](Vault&, RoundReason reason) -> absl::StatusOr<RoundOutcome> {
    std::lock_guard<std::mutex> lock(mu);
    reasons.push_back(reason);
    if (reasons.size() == 1) return RoundOutcome{.retry_after = milliseconds(1500)};
    if (reason == RoundReason::kChanged) return RoundOutcome{.attempted = false};
    return absl::CancelledError("retried");  // ends the watch: the test's end
  });
  std::this_thread::sleep_for(milliseconds(300));
  {
    auto other = Vault::Open(home_, kPassphrase);
    ASSERT_TRUE(other.ok()) << other.status();
    ASSERT_TRUE((*other)->Put("outbox", "looked", "at").ok());
  }
  absl::Status ended = Join();
  EXPECT_EQ(ended.code(), absl::StatusCode::kCancelled) << ended;
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_GE(reasons.size(), 3u);
  EXPECT_EQ(reasons[1], RoundReason::kChanged);
  EXPECT_EQ(reasons.back(), RoundReason::kRetry) << "the change dropped the retry";
}

// `temoin wipe`, or a duress unlock, while the watch waits: it stops without opening
// whatever is there now. The wipe is the real one: it shreds the key, then the store file
// by file, waking the watch while the store is half gone.
TEST_F(SyncWatchTest, AWipedVaultStopsTheWatchQuietly) {
  Start(Recording());
  ASSERT_TRUE(WaitForRounds(1));
  ASSERT_TRUE(WipeVault(home_).ok());
  EXPECT_TRUE(Join().ok()) << result_;
  EXPECT_EQ(Rounds().size(), 1u);
}

// A duress unlock holds the store while it wipes, and a watch woken by its writes keeps
// trying to take the store back. Once the key is gone it must stop trying: an open of the
// store under the wipe would make its directory and LOCK file again, and the wipe, unable
// to remove them, would fail where the person is being watched.
TEST_F(SyncWatchTest, AWatchWaitingForTheStoreDoesNotReopenItUnderAWipe) {
  Start(Recording());
  ASSERT_TRUE(WaitForRounds(1));
  auto holder = Vault::Open(home_, kPassphrase);
  ASSERT_TRUE(holder.ok()) << holder.status();
  ASSERT_TRUE((*holder)->Put("outbox", "new", "record").ok());
  std::this_thread::sleep_for(milliseconds(300));  // the watch is retrying meanwhile
  EXPECT_TRUE(WipeVault(home_).ok());
  std::this_thread::sleep_for(milliseconds(300));
  holder->reset();
  EXPECT_TRUE(Join().ok()) << result_;
  EXPECT_EQ(Rounds().size(), 1u);
  EXPECT_FALSE(fs::exists(home_ + "/store")) << "the watch opened the store under the wipe";
}

TEST_F(SyncWatchTest, AStoreThatCannotBeWatchedIsAClearError) {
  fs::remove_all(home_ + "/store");
  Start(Recording());
  absl::Status ended = Join();
  EXPECT_EQ(ended.code(), absl::StatusCode::kFailedPrecondition) << ended;
  EXPECT_TRUE(Rounds().empty());
}

}  // namespace
}  // namespace temoin::client
