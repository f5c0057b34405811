#include "server/storage/rocks_store.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace temoin::server {
namespace {

using ::absl::StatusCode;

class RocksStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/temoin_rocks_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = dir_ + "/db";
    Reopen();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void Reopen() {
    store_.reset();
    absl::StatusOr<std::unique_ptr<RocksStore>> store = RocksStore::Open(path_);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = std::move(*store);
  }

  void Put(absl::string_view key, absl::string_view value) {
    WriteBatch batch;
    batch.Put(key, value);
    ASSERT_TRUE(store_->Commit(batch).ok());
  }

  std::optional<std::string> Get(absl::string_view key) {
    absl::StatusOr<std::optional<std::string>> value = store_->Get(key);
    EXPECT_TRUE(value.ok()) << value.status();
    return value.ok() ? *value : std::nullopt;
  }

  std::vector<std::pair<std::string, std::string>> Scan(absl::string_view prefix,
                                                        absl::string_view start_after,
                                                        size_t stop_after = SIZE_MAX) {
    std::vector<std::pair<std::string, std::string>> rows;
    absl::Status status =
        store_->Scan(prefix, start_after, [&](absl::string_view key, absl::string_view value) {
          rows.emplace_back(std::string(key), std::string(value));
          return rows.size() < stop_after;
        });
    EXPECT_TRUE(status.ok()) << status;
    return rows;
  }

  static std::vector<std::string> Keys(
      const std::vector<std::pair<std::string, std::string>>& rows) {
    std::vector<std::string> keys;
    for (const auto& row : rows) keys.push_back(row.first);
    return keys;
  }

  std::string dir_;
  std::string path_;
  std::unique_ptr<RocksStore> store_;
};

TEST_F(RocksStoreTest, CommittedDataIsSeenAfterReopen) {
  WriteBatch batch;
  batch.Put("rec/1", "first");
  batch.Put("rec/2", std::string("with\0nul", 8));
  batch.Put("gone", "soon");
  ASSERT_TRUE(store_->Commit(batch).ok());
  WriteBatch removal;
  removal.Delete("gone");
  ASSERT_TRUE(store_->Commit(removal).ok());

  Reopen();
  EXPECT_EQ(Get("rec/1"), "first");
  EXPECT_EQ(Get("rec/2"), std::string("with\0nul", 8));
  EXPECT_EQ(Get("gone"), std::nullopt);
}

TEST_F(RocksStoreTest, CommittedDataSurvivesProcessExitWithoutClose) {
  store_.reset();  // the child takes the lock
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    absl::StatusOr<std::unique_ptr<RocksStore>> store = RocksStore::Open(path_);
    if (!store.ok()) _exit(2);
    WriteBatch batch;
    batch.Put("rec/acked", "durable");
    if (!(*store)->Commit(batch).ok()) _exit(3);
    _exit(0);  // no destructor, no flush: only the synced WAL holds the write
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  ASSERT_EQ(WEXITSTATUS(status), 0);
  Reopen();
  EXPECT_EQ(Get("rec/acked"), "durable");
}

TEST_F(RocksStoreTest, GetOfMissingKeyIsNullopt) {
  EXPECT_EQ(Get("nothing/here"), std::nullopt);
  Put("a", "");
  EXPECT_EQ(Get("a"), "");  // present but empty differs from absent
  EXPECT_EQ(Get("b"), std::nullopt);
}

TEST_F(RocksStoreTest, ScanVisitsPrefixInKeyOrderAfterStart) {
  for (const char* key : {"a/1", "b/1", "b/3", "b/2", "b/20", "b0", "c/1", "b"}) {
    Put(key, absl::StrCat("v-", key));
  }
  EXPECT_EQ(Keys(Scan("b/", "")), (std::vector<std::string>{"b/1", "b/2", "b/20", "b/3"}));
  EXPECT_EQ(Scan("b/", "")[0].second, "v-b/1");
  EXPECT_EQ(Keys(Scan("b/", "b/2")), (std::vector<std::string>{"b/20", "b/3"}));
  // start_after need not be a stored key.
  EXPECT_EQ(Keys(Scan("b/", "b/15")), (std::vector<std::string>{"b/2", "b/20", "b/3"}));
  EXPECT_TRUE(Scan("b/", "b/3").empty());
  EXPECT_TRUE(Scan("b/", "b/9").empty());
  EXPECT_TRUE(Scan("x/", "").empty());
  EXPECT_EQ(Keys(Scan("", "")).size(), 8u);
  // The visitor stops the scan by returning false.
  EXPECT_EQ(Keys(Scan("b/", "", 2)), (std::vector<std::string>{"b/1", "b/2"}));
}

TEST_F(RocksStoreTest, ScanHandlesBinaryKeys) {
  std::string prefix("p\0\xff", 3);
  Put(prefix + std::string("\x00\x01", 2), "one");
  Put(prefix + std::string("\x00\x02", 2), "two");
  Put(prefix + std::string("\xff", 1), "three");
  Put(std::string("p\0\xfe", 3), "other");
  Put(std::string("q", 1), "later");
  auto rows = Scan(prefix, prefix + std::string("\x00\x01", 2));
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].second, "two");
  EXPECT_EQ(rows[1].second, "three");
}

// start_after sorting before every key of the prefix must not hide the prefix.
TEST_F(RocksStoreTest, ScanWithStartBeforePrefixStillVisitsPrefix) {
  Put("a/1", "x");
  Put("b/1", "y");
  EXPECT_EQ(Keys(Scan("b/", "a")), (std::vector<std::string>{"b/1"}));
}

TEST_F(RocksStoreTest, BatchIsAppliedInOrderAndAtomically) {
  WriteBatch batch;
  batch.Put("k", "first");
  batch.Delete("k");
  batch.Put("k", "last");
  batch.Put("d", "x");
  batch.Delete("d");
  ASSERT_TRUE(store_->Commit(batch).ok());
  EXPECT_EQ(Get("k"), "last");
  EXPECT_EQ(Get("d"), std::nullopt);
  ASSERT_TRUE(store_->Commit(WriteBatch()).ok());  // an empty batch is harmless
}

TEST_F(RocksStoreTest, ReadersNeverSeeHalfABatch) {
  constexpr int kKeys = 8;
  constexpr int kRounds = 60;
  auto batch_for = [](int round) {
    WriteBatch batch;
    for (int k = 0; k < kKeys; ++k) batch.Put(absl::StrCat("set/", k), absl::StrCat(round));
    return batch;
  };
  ASSERT_TRUE(store_->Commit(batch_for(0)).ok());
  std::atomic<bool> done{false};
  std::atomic<int> torn{0};
  std::atomic<int> scans{0};
  std::thread reader([&] {
    while (!done.load()) {
      std::vector<std::string> values;
      store_
          ->Scan("set/", "",
                 [&](absl::string_view, absl::string_view value) {
                   values.emplace_back(value);
                   return true;
                 })
          .IgnoreError();  // an error shows up as a short read below
      bool ok = values.size() == static_cast<size_t>(kKeys);
      for (const std::string& v : values) ok = ok && v == values[0];
      if (!ok) torn.fetch_add(1);
      scans.fetch_add(1);
    }
  });
  for (int round = 1; round <= kRounds; ++round) {
    ASSERT_TRUE(store_->Commit(batch_for(round)).ok());
  }
  done.store(true);
  reader.join();
  EXPECT_EQ(torn.load(), 0);
  EXPECT_GT(scans.load(), 0);
  for (int k = 0; k < kKeys; ++k) EXPECT_EQ(Get(absl::StrCat("set/", k)), absl::StrCat(kRounds));
}

TEST_F(RocksStoreTest, SecondOpenWhileOpenIsUnavailable) {
  absl::StatusOr<std::unique_ptr<RocksStore>> second = RocksStore::Open(path_);
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable) << second.status();
  // The first keeps working, and once closed the path opens again.
  Put("still", "here");
  Reopen();
  EXPECT_EQ(Get("still"), "here");
}

TEST_F(RocksStoreTest, OpenWhileAnotherProcessHoldsTheStoreIsUnavailable) {
  store_.reset();
  int ready[2], release[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(release), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    absl::StatusOr<std::unique_ptr<RocksStore>> store = RocksStore::Open(path_);
    char byte = store.ok() ? 'y' : 'n';
    if (write(ready[1], &byte, 1) != 1) _exit(2);
    if (read(release[0], &byte, 1) < 0) _exit(3);  // hold the lock until told
    _exit(0);
  }
  char byte = 0;
  ASSERT_EQ(read(ready[0], &byte, 1), 1);
  ASSERT_EQ(byte, 'y');
  absl::StatusOr<std::unique_ptr<RocksStore>> second = RocksStore::Open(path_);
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable) << second.status();
  ASSERT_EQ(write(release[1], "x", 1), 1);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  for (int fd : {ready[0], ready[1], release[0], release[1]}) close(fd);
  Reopen();  // free again once the holder is gone
}

// The server runs for years: what the store keeps in memory must not grow with what it
// holds. 48 MiB written (three times a memtable) must leave at most two memtables in
// memory (RocksDB's default 64 MiB memtable would hold it all), and reading it all back
// may add at most the 32 MiB block cache.
TEST_F(RocksStoreTest, MemoryStaysWithinItsBudgetAsTheStoreGrows) {
  constexpr size_t kMiB = 1 << 20;
  std::mt19937_64 rng(7);
  std::string value(4096, '\0');
  int keys = 0;
  for (int batch_index = 0; batch_index < 192; ++batch_index) {  // 192 x 64 x 4 KiB
    WriteBatch batch;
    for (int i = 0; i < 64; ++i, ++keys) {
      for (char& c : value) c = static_cast<char>(rng());  // incompressible
      batch.Put(absl::StrCat("k/", keys), value);
    }
    ASSERT_TRUE(store_->Commit(batch).ok());
  }
  std::optional<uint64_t> written = store_->MemoryBytes();
  ASSERT_TRUE(written.has_value());
  EXPECT_GT(*written, 0u);
  EXPECT_LE(*written, 34 * kMiB) << "memtables hold more than two of 16 MiB";

  for (int k = 0; k < keys; ++k) ASSERT_TRUE(Get(absl::StrCat("k/", k)).has_value()) << k;
  std::optional<uint64_t> read = store_->MemoryBytes();
  ASSERT_TRUE(read.has_value());
  EXPECT_LE(*read, (34 + 33) * kMiB) << "memtables plus the block cache over budget";
}

TEST_F(RocksStoreTest, OpenOfUnusablePathFails) {
  std::string file = dir_ + "/plain-file";
  FILE* f = fopen(file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  fclose(f);
  EXPECT_FALSE(RocksStore::Open(file + "/db").ok());
}

}  // namespace
}  // namespace temoin::server
