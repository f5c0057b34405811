// One suite, three engines: MemoryStore, RocksStore and PgStore must give the same
// answers (order of binary keys, atomic batches, the log's sequencer), so that the core,
// tested on MemoryStore, behaves the same on each. PgStore runs against a real primary +
// synchronous standby (tests/pg/pg-up.sh); it is skipped, saying why, where PostgreSQL
// cannot run.
#include <filesystem>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "gtest/gtest.h"
#include "server/storage/memory_store.h"
#include "server/storage/pg/pg_store.h"
#include "server/storage/rocks_store.h"
#include "tests/pg/pg_cluster.h"

namespace temoin::server {
namespace {

using ::temoin::testing::PgCluster;

std::vector<std::pair<std::string, std::string>> ScanAll(Store& store, absl::string_view prefix,
                                                         absl::string_view start_after = "") {
  std::vector<std::pair<std::string, std::string>> out;
  absl::Status status =
      store.Scan(prefix, start_after, [&](absl::string_view k, absl::string_view v) {
        out.emplace_back(k, v);
        return true;
      });
  EXPECT_TRUE(status.ok()) << status;
  return out;
}

class StoreConformanceTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string& engine = GetParam();
    if (engine == "memory") {
      store_ = std::make_unique<MemoryStore>();
    } else if (engine == "rocks") {
      dir_ = std::filesystem::temp_directory_path() /
             ("temoin-conformance-" + std::to_string(getpid()));
      std::filesystem::remove_all(dir_);
      auto store = RocksStore::Open(dir_.string());
      ASSERT_TRUE(store.ok()) << store.status();
      store_ = std::move(*store);
    } else {
      PgCluster* cluster = PgCluster::Get();
      if (cluster == nullptr) GTEST_SKIP() << "PostgreSQL: " << PgCluster::SkipReason();
      cluster->Reset();
      ASSERT_TRUE(PgStore::CreateSchema(cluster->conninfo()).ok());
      auto store = PgStore::Open(cluster->conninfo());
      ASSERT_TRUE(store.ok()) << store.status();
      store_ = std::move(*store);
    }
  }
  void TearDown() override {
    store_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  // A second handle on the same data: another front-end for PostgreSQL, the same object
  // for the in-process engines (whose writers all live in one process).
  std::unique_ptr<Store> SecondFrontEnd() {
    if (GetParam() != "pg") return nullptr;
    auto store = PgStore::Open(PgCluster::Get()->conninfo());
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? std::move(*store) : nullptr;
  }

  std::unique_ptr<Store> store_;
  std::filesystem::path dir_;
};

TEST_P(StoreConformanceTest, GetCommitDelete) {
  EXPECT_EQ(*store_->Get("absent"), std::nullopt);
  WriteBatch batch;
  batch.Put("a", std::string("\0\1\xff", 3));
  batch.Put("b", "");
  ASSERT_TRUE(store_->Commit(batch).ok());
  EXPECT_EQ(*store_->Get("a"), std::string("\0\1\xff", 3));
  EXPECT_EQ(*store_->Get("b"), "");  // present and empty is not absent

  WriteBatch later_wins;  // ops apply in order within a batch
  later_wins.Put("a", "1");
  later_wins.Delete("a");
  later_wins.Delete("b");
  later_wins.Put("b", "2");
  ASSERT_TRUE(store_->Commit(later_wins).ok());
  EXPECT_EQ(*store_->Get("a"), std::nullopt);
  EXPECT_EQ(*store_->Get("b"), "2");
  EXPECT_TRUE(store_->Commit(WriteBatch()).ok());
}

TEST_P(StoreConformanceTest, ScanIsInByteOrderWithBinaryKeys) {
  // memcmp order: 0x00 < 'A' < 'a' < 0x7f < 0x80 < 0xff, and a prefix sorts first.
  const std::vector<std::string> keys = {
      std::string("p/\0", 3),     "p/A", "p/a", "p/\x7f", "p/\x80", "p/\xff",
      std::string("p/\xff\0", 4), "p",   "q/0", "o/9"};
  WriteBatch batch;
  for (const std::string& key : keys) batch.Put(key, "v" + key);
  ASSERT_TRUE(store_->Commit(batch).ok());
  const auto rows = ScanAll(*store_, "p/");
  std::vector<std::string> got;
  for (const auto& [key, value] : rows) {
    got.push_back(key);
    EXPECT_EQ(value, "v" + key);
  }
  const std::vector<std::string> want = {
      std::string("p/\0", 3),    "p/A", "p/a", "p/\x7f", "p/\x80", "p/\xff",
      std::string("p/\xff\0", 4)};
  EXPECT_EQ(got, want);
  // start_after: strictly after, inside the prefix; before the prefix starts at it.
  EXPECT_EQ(ScanAll(*store_, "p/", "p/a").size(), 4u);
  EXPECT_EQ(ScanAll(*store_, "p/", "a").size(), 7u);
  EXPECT_EQ(ScanAll(*store_, "p/", "z").size(), 0u);
  EXPECT_EQ(ScanAll(*store_, "").size(), keys.size());
}

TEST_P(StoreConformanceTest, ScanPagesAndStops) {
  WriteBatch batch;
  for (uint64_t i = 0; i < 300; ++i) batch.Put("n/" + EncodeU64BigEndian(i), std::to_string(i));
  batch.Put("n0", "outside");
  ASSERT_TRUE(store_->Commit(batch).ok());
  const auto rows = ScanAll(*store_, "n/");
  ASSERT_EQ(rows.size(), 300u);
  for (uint64_t i = 0; i < 300; ++i) EXPECT_EQ(rows[i].second, std::to_string(i));
  int seen = 0;
  ASSERT_TRUE(
      store_->Scan("n/", "", [&](absl::string_view, absl::string_view) { return ++seen < 40; })
          .ok());
  EXPECT_EQ(seen, 40);
  // A visitor may write to the store (the pooled connection is not held meanwhile).
  ASSERT_TRUE(store_
                  ->Scan("n/", "",
                         [&](absl::string_view key, absl::string_view) {
                           WriteBatch mark;
                           mark.Put(absl::StrCat("m/", key), "");
                           return store_->Commit(mark).ok();
                         })
                  .ok());
  EXPECT_EQ(ScanAll(*store_, "m/").size(), 300u);
}

TEST_P(StoreConformanceTest, AppendToLogContract) {
  EXPECT_EQ(*store_->LogSize(), 0u);
  WriteBatch seed;
  seed.Put("seen", "before");
  ASSERT_TRUE(store_->Commit(seed).ok());
  // The builder reads committed data and numbers from the committed size.
  auto appended = store_->AppendToLog([&](uint64_t size) -> absl::StatusOr<LogAppend> {
    EXPECT_EQ(size, 0u);
    EXPECT_EQ(*store_->Get("seen"), "before");
    LogAppend append;
    append.batch.Put("leaf/0", "x");
    append.new_size = 1;
    return append;
  });
  ASSERT_TRUE(appended.ok()) << appended.status();
  EXPECT_EQ(*appended, 1u);
  EXPECT_EQ(*store_->LogSize(), 1u);
  EXPECT_EQ(*store_->Get("leaf/0"), "x");
  // Nothing logged: the size stays.
  auto same = store_->AppendToLog(
      [](uint64_t size) -> absl::StatusOr<LogAppend> { return LogAppend{.new_size = size}; });
  EXPECT_EQ(*same, 1u);
  // A failing builder commits nothing.
  auto failed = store_->AppendToLog([](uint64_t size) -> absl::StatusOr<LogAppend> {
    return absl::InvalidArgumentError("refused");
  });
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kInvalidArgument);
  // A log never shrinks, and that attempt commits nothing either.
  auto shrink = store_->AppendToLog([](uint64_t) -> absl::StatusOr<LogAppend> {
    LogAppend append;
    append.batch.Put("should-not", "exist");
    append.new_size = 0;
    return append;
  });
  EXPECT_EQ(shrink.status().code(), absl::StatusCode::kInternal);
  EXPECT_EQ(*store_->Get("should-not"), std::nullopt);
  EXPECT_EQ(*store_->LogSize(), 1u);
}

// Prefetch is a hint: inside a builder, Gets answer exactly what they would have without
// it (present, present and empty, absent, binary), keys not prefetched still read, and
// nothing is remembered past the builder.
TEST_P(StoreConformanceTest, PrefetchedGetsAnswerWhatTheStoreHolds) {
  WriteBatch seed;
  seed.Put("p/a", std::string("\0\1\xff", 3));
  seed.Put("p/empty", "");
  seed.Put("p/other", "not asked");
  ASSERT_TRUE(store_->Commit(seed).ok());
  EXPECT_TRUE(store_->Prefetch({"p/a"}).ok()) << "outside a builder it is a no-op";
  auto appended = store_->AppendToLog([&](uint64_t size) -> absl::StatusOr<LogAppend> {
    TEMOIN_RETURN_IF_ERROR(store_->Prefetch({"p/a", "p/empty", "p/absent", "p/a"}));
    EXPECT_EQ(*store_->Get("p/a"), std::string("\0\1\xff", 3));
    EXPECT_EQ(*store_->Get("p/empty"), "");
    EXPECT_EQ(*store_->Get("p/absent"), std::nullopt);
    EXPECT_EQ(*store_->Get("p/other"), "not asked");
    LogAppend append;
    append.batch.Put("p/absent", "now here");
    append.new_size = size + 1;
    return append;
  });
  ASSERT_TRUE(appended.ok()) << appended.status();
  EXPECT_EQ(*store_->Get("p/absent"), "now here") << "a prefetched absence outlived its builder";
  EXPECT_TRUE(store_
                  ->CommitLocked("prefetch",
                                 [&]() -> absl::StatusOr<WriteBatch> {
                                   TEMOIN_RETURN_IF_ERROR(store_->Prefetch({"p/absent"}));
                                   EXPECT_EQ(*store_->Get("p/absent"), "now here");
                                   return WriteBatch();
                                 })
                  .ok());
}

// The sequencer under load: 4 appenders (two per front-end for PostgreSQL) each append
// 25 leaves. Every index 0..99 is taken exactly once and the log says 100.
TEST_P(StoreConformanceTest, ConcurrentAppendersKeepTheLogDense) {
  std::unique_ptr<Store> second = SecondFrontEnd();
  std::vector<Store*> front_ends = {store_.get(), second ? second.get() : store_.get()};
  constexpr int kThreads = 4, kPerThread = 25;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Store& store = *front_ends[t % 2];
      for (int i = 0; i < kPerThread; ++i) {
        auto size = store.AppendToLog([&](uint64_t size) -> absl::StatusOr<LogAppend> {
          // The leaf must be new: had another appender numbered it, it would be here.
          TEMOIN_ASSIGN_OR_RETURN(auto existing, store.Get("leaf/" + EncodeU64BigEndian(size)));
          if (existing.has_value()) return absl::InternalError("index handed out twice");
          LogAppend append;
          append.batch.Put("leaf/" + EncodeU64BigEndian(size), absl::StrCat(t, "/", i));
          append.new_size = size + 1;
          return append;
        });
        if (!size.ok()) {
          ADD_FAILURE() << size.status();
          ++failures;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(*store_->LogSize(), kThreads * kPerThread);
  const auto leaves = ScanAll(*store_, "leaf/");
  ASSERT_EQ(leaves.size(), static_cast<size_t>(kThreads * kPerThread));
  std::set<std::string> owners;
  for (size_t i = 0; i < leaves.size(); ++i) {
    EXPECT_EQ(leaves[i].first, "leaf/" + EncodeU64BigEndian(i));  // dense: no gap
    owners.insert(leaves[i].second);
  }
  EXPECT_EQ(owners.size(), leaves.size());  // no append overwrote another
}

TEST_P(StoreConformanceTest, CommitLockedCommitsTheBuiltBatchOrNothing) {
  ASSERT_TRUE(store_
                  ->CommitLocked("lock/a",
                                 []() -> absl::StatusOr<WriteBatch> {
                                   WriteBatch batch;
                                   batch.Put("x", "1");
                                   batch.Put(std::string("\0\xff", 2), "2");
                                   return batch;
                                 })
                  .ok());
  EXPECT_EQ(*store_->Get("x"), "1");
  EXPECT_EQ(*store_->Get(std::string("\0\xff", 2)), "2");
  // A failing builder commits nothing and its status comes back unchanged.
  absl::Status refused = store_->CommitLocked("lock/a", []() -> absl::StatusOr<WriteBatch> {
    return absl::FailedPreconditionError("code already used");
  });
  EXPECT_EQ(refused, absl::FailedPreconditionError("code already used"));
  EXPECT_TRUE(
      store_->CommitLocked("", []() -> absl::StatusOr<WriteBatch> { return WriteBatch(); }).ok());
  // The builder reads what earlier commits under the lock wrote, and the store works
  // after a refusal (no lock left held, no transaction left open).
  int calls = 0;
  ASSERT_TRUE(store_
                  ->CommitLocked("lock/a",
                                 [&]() -> absl::StatusOr<WriteBatch> {
                                   ++calls;
                                   TEMOIN_ASSIGN_OR_RETURN(auto x, store_->Get("x"));
                                   WriteBatch batch;
                                   batch.Put("x", *x + "+");
                                   return batch;
                                 })
                  .ok());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(*store_->Get("x"), "1+");
}

// One-time codes and sign-in nonces: of many attempts to consume one, on every
// front-end at once, exactly one wins.
TEST_P(StoreConformanceTest, CommitLockedConsumesOnceAcrossFrontEnds) {
  std::unique_ptr<Store> second = SecondFrontEnd();
  std::vector<Store*> front_ends = {store_.get(), second ? second.get() : store_.get()};
  constexpr int kCodes = 5, kThreads = 6;
  WriteBatch codes;
  for (int c = 0; c < kCodes; ++c) codes.Put(absl::StrCat("code/", c), "fresh");
  ASSERT_TRUE(store_->Commit(codes).ok());
  std::atomic<int> won{0}, lost{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Store& store = *front_ends[t % 2];
      for (int c = 0; c < kCodes; ++c) {
        const std::string key = absl::StrCat("code/", c);
        absl::Status s = store.CommitLocked(key, [&]() -> absl::StatusOr<WriteBatch> {
          TEMOIN_ASSIGN_OR_RETURN(auto value, store.Get(key));
          if (value != "fresh") return absl::FailedPreconditionError("already used");
          WriteBatch batch;
          batch.Put(key, absl::StrCat("used by ", t));
          return batch;
        });
        if (s.ok()) {
          ++won;
        } else if (absl::IsFailedPrecondition(s)) {
          ++lost;
        } else {
          ADD_FAILURE() << s;
          ++failed;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(won.load(), kCodes);
  EXPECT_EQ(lost.load(), kCodes * (kThreads - 1));
}

// The audit chain's pattern: read the head, append after it, move it, under one lock.
TEST_P(StoreConformanceTest, CommitLockedKeepsAChainLinearAcrossFrontEnds) {
  std::unique_ptr<Store> second = SecondFrontEnd();
  std::vector<Store*> front_ends = {store_.get(), second ? second.get() : store_.get()};
  constexpr int kThreads = 4, kPerThread = 20;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Store& store = *front_ends[t % 2];
      for (int i = 0; i < kPerThread; ++i) {
        absl::Status s = store.CommitLocked("chain", [&]() -> absl::StatusOr<WriteBatch> {
          TEMOIN_ASSIGN_OR_RETURN(auto head, store.Get("chain/head"));
          const uint64_t size = head.has_value() ? DecodeU64BigEndian(*head) : 0;
          WriteBatch batch;
          batch.Put("chain/e/" + EncodeU64BigEndian(size + 1), absl::StrCat(t, "/", i));
          batch.Put("chain/head", EncodeU64BigEndian(size + 1));
          return batch;
        });
        EXPECT_TRUE(s.ok()) << s;
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(DecodeU64BigEndian(**store_->Get("chain/head")), kThreads * kPerThread);
  const auto entries = ScanAll(*store_, "chain/e/");
  ASSERT_EQ(entries.size(), static_cast<size_t>(kThreads * kPerThread));
  std::set<std::string> owners;
  for (size_t i = 0; i < entries.size(); ++i) {
    EXPECT_EQ(entries[i].first, "chain/e/" + EncodeU64BigEndian(i + 1));
    owners.insert(entries[i].second);
  }
  EXPECT_EQ(owners.size(), entries.size());  // no entry overwrote another
}

TEST_P(StoreConformanceTest, CountersStopAtTheirLimitAndRestartEachWindow) {
  EXPECT_EQ(*store_->AddToCounter("quota/a", 7, 40, 100), 40u);
  EXPECT_EQ(*store_->AddToCounter("quota/a", 7, 70, 100), 110u);  // below the limit: taken
  EXPECT_TRUE(absl::IsResourceExhausted(store_->AddToCounter("quota/a", 7, 1, 100).status()));
  EXPECT_EQ(*store_->AddToCounter("quota/a", 7, -30, 100), 80u);  // given back
  EXPECT_EQ(*store_->AddToCounter("quota/a", 7, -500, 100), 0u);  // never below zero
  EXPECT_EQ(*store_->AddToCounter("quota/a", 7, 100, 100), 100u);
  EXPECT_EQ(*store_->AddToCounter("quota/a", 8, 5, 100), 5u);  // a new day starts at 0
  // Names are bytes; each is its own counter.
  const std::string binary("q\0\xff", 3);
  EXPECT_EQ(*store_->AddToCounter(binary, 8, 1, 100), 1u);
  EXPECT_EQ(*store_->AddToCounter("quota/b", 8, 1, 100), 1u);
  // Counters are not keys of the store.
  EXPECT_TRUE(ScanAll(*store_, "").empty());
}

TEST_P(StoreConformanceTest, ConcurrentCountersTakeExactlyTheBudget) {
  std::unique_ptr<Store> second = SecondFrontEnd();
  std::vector<Store*> front_ends = {store_.get(), second ? second.get() : store_.get()};
  constexpr int kThreads = 4, kPerThread = 25, kLimit = 50;
  std::atomic<int> taken{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        auto value = front_ends[t % 2]->AddToCounter("quota/shared", 1, 1, kLimit);
        if (value.ok()) {
          ++taken;
        } else {
          EXPECT_TRUE(absl::IsResourceExhausted(value.status())) << value.status();
          ++refused;
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(taken.load(), kLimit);
  EXPECT_EQ(refused.load(), kThreads * kPerThread - kLimit);
}

INSTANTIATE_TEST_SUITE_P(Engines, StoreConformanceTest, ::testing::Values("memory", "rocks", "pg"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace temoin::server
