// "No receipt without replication" (scale-out.md §4, traps 1-3), on a real primary with
// a synchronous standby: with the standby down, Commit and AppendToLog fail with
// kUnavailable within the store's deadline, whether the wait ends by our deadline or by
// someone cancelling it (PostgreSQL then reports success with only a WARNING), and a
// retry that finds its data already committed locally still answers only after the
// standby has it. Also: a killed connection is replaced on the next call.
#include <chrono>
#include <future>
#include <thread>

#include "common/encoding.h"
#include "gtest/gtest.h"
#include "server/storage/pg/pg_store.h"
#include "tests/pg/pg_cluster.h"

namespace temoin::server {
namespace {

using ::temoin::testing::PgCluster;
using Clock = std::chrono::steady_clock;

class PgSyncRepTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = PgCluster::Get();
    if (cluster_ == nullptr) GTEST_SKIP() << "PostgreSQL: " << PgCluster::SkipReason();
    cluster_->Reset();
    ASSERT_TRUE(PgStore::CreateSchema(cluster_->conninfo()).ok());
  }
  void TearDown() override {
    if (standby_stopped_) {
      EXPECT_TRUE(cluster_->StartStandby());
    }
  }
  std::unique_ptr<PgStore> Open(std::chrono::milliseconds deadline) {
    auto store = PgStore::Open(cluster_->conninfo(), {.deadline = deadline});
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }
  void StopStandby() {
    ASSERT_TRUE(cluster_->StopStandby());
    standby_stopped_ = true;
  }
  static absl::StatusOr<uint64_t> AppendOne(Store& store, absl::string_view key) {
    return store.AppendToLog([&](uint64_t size) -> absl::StatusOr<LogAppend> {
      LogAppend append;
      append.batch.Put(key, EncodeU64BigEndian(size));
      append.new_size = size + 1;
      return append;
    });
  }
  PgCluster* cluster_ = nullptr;
  bool standby_stopped_ = false;
};

// Trap 1: statement_timeout does not end the wait; the store's deadline (PQcancel) does.
TEST_F(PgSyncRepTest, StandbyDownFailsWithinTheDeadline) {
  std::unique_ptr<PgStore> store = Open(std::chrono::milliseconds(1500));
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(AppendOne(*store, "leaf/a").ok());  // the standby is up: fine
  StopStandby();

  WriteBatch batch;
  batch.Put("k", "v");
  Clock::time_point start = Clock::now();
  absl::Status commit = store->Commit(batch);
  EXPECT_EQ(commit.code(), absl::StatusCode::kUnavailable) << commit;
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(10));

  start = Clock::now();
  absl::StatusOr<uint64_t> append = AppendOne(*store, "leaf/b");
  EXPECT_EQ(append.status().code(), absl::StatusCode::kUnavailable) << append.status();
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(10));

  // Trap 3: the cancelled append is committed on the primary alone. A retry that finds
  // nothing to add (a "duplicate") must still not succeed before the standby has it.
  EXPECT_EQ(cluster_->Sql("SELECT count(*) FROM kv WHERE key = 'leaf/b'"), "1")
      << "committed locally, as PostgreSQL does";
  // A plain read must not hand it out either (a stored receipt would be read this way).
  absl::StatusOr<std::optional<std::string>> read = store->Get("leaf/b");
  EXPECT_EQ(read.status().code(), absl::StatusCode::kUnavailable) << "read unreplicated data";
  absl::StatusOr<uint64_t> duplicate = store->AppendToLog(
      [](uint64_t size) -> absl::StatusOr<LogAppend> { return LogAppend{.new_size = size}; });
  EXPECT_EQ(duplicate.status().code(), absl::StatusCode::kUnavailable) << duplicate.status();

  // The standby returns: the same calls succeed, and the log continues densely.
  ASSERT_TRUE(cluster_->StartStandby());
  standby_stopped_ = false;
  absl::StatusOr<uint64_t> after = AppendOne(*store, "leaf/c");
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(*after, 3u);
  read = store->Get("leaf/b");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, EncodeU64BigEndian(1));
  EXPECT_EQ(cluster_->Sql("SELECT tree_size FROM log_head"), "3");
}

// Trap 2: another session (an operator, a pooler, a failover tool) cancels the wait.
// PostgreSQL then answers COMMIT with success and a WARNING; the store must say failure.
TEST_F(PgSyncRepTest, CancelledWaitIsAFailureNotASuccess) {
  std::unique_ptr<PgStore> store = Open(std::chrono::seconds(60));
  ASSERT_NE(store, nullptr);
  StopStandby();
  const Clock::time_point start = Clock::now();
  std::future<absl::Status> commit = std::async(std::launch::async, [&] {
    WriteBatch batch;
    batch.Put("cancelled", "v");
    return store->Commit(batch);
  });
  // Wait until the backend is waiting for the standby, then cancel it from outside.
  std::string cancelled;
  for (int i = 0; i < 200 && cancelled != "t"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    cancelled = cluster_->Sql(
        "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE wait_event = 'SyncRep'");
  }
  ASSERT_EQ(cancelled, "t") << "no backend waited for the standby";
  absl::Status status = commit.get();
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(30));  // not our own 60 s deadline
  EXPECT_EQ(cluster_->Sql("SELECT count(*) FROM kv WHERE key = 'cancelled'"), "1")
      << "PostgreSQL kept it locally: exactly what must not be acknowledged";
  // Nor read back, even by another process (a restarted server starts in doubt).
  std::unique_ptr<PgStore> restarted = Open(std::chrono::milliseconds(1000));
  ASSERT_NE(restarted, nullptr);
  EXPECT_EQ(restarted->Get("cancelled").status().code(), absl::StatusCode::kUnavailable);
}

// A connection killed under the store (a restart, a failover) is dropped; the call that
// found it broken fails with kUnavailable, and the next one reconnects.
TEST_F(PgSyncRepTest, ReconnectsAfterTheConnectionIsKilled) {
  std::unique_ptr<PgStore> store = Open(std::chrono::seconds(10));
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Get("x").ok());
  EXPECT_NE(cluster_->Sql("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                          "WHERE usename = 'temoin' AND pid <> pg_backend_pid() "
                          "AND backend_type = 'client backend'"),
            "0");
  absl::StatusOr<std::optional<std::string>> first = store->Get("x");
  if (!first.ok()) {
    EXPECT_EQ(first.status().code(), absl::StatusCode::kUnavailable);
  }
  EXPECT_TRUE(store->Get("x").ok());
  ASSERT_TRUE(AppendOne(*store, "leaf/after-kill").ok());
}

// One `run` at a time on a database (the core's in-process state; see pg_store.h).
TEST_F(PgSyncRepTest, OnlyOneServerProcessPerDatabase) {
  auto first = PgStore::Open(cluster_->conninfo(), {.single_process = true});
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = PgStore::Open(cluster_->conninfo(), {.single_process = true});
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition) << second.status();
  first->reset();  // its guard connection closes, and the lock with it
  auto third = PgStore::Open(cluster_->conninfo(), {.single_process = true});
  EXPECT_TRUE(third.ok()) << third.status();
}

}  // namespace
}  // namespace temoin::server
