#ifndef TEMOIN_SERVER_STORAGE_ROCKS_STORE_H_
#define TEMOIN_SERVER_STORAGE_ROCKS_STORE_H_

#include <atomic>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "server/storage/store.h"

namespace rocksdb {
class DB;
class Env;
}  // namespace rocksdb

namespace temoin::server {

// RocksDB on disk. Every Commit is written with sync=true (WAL fsync) before it
// returns; the WAL recovers with kTolerateCorruptedTailRecords (acknowledged writes
// must never be rolled back) and paranoid checks. Thread-safe.
class RocksStore final : public Store {
 public:
  struct Options {
    // Not owned; must outlive the store. Null: the default Env. Tests pass a fault-
    // injecting Env (simulated power loss).
    rocksdb::Env* env = nullptr;
  };
  // Creates the database when missing. kDataLoss on corruption, kUnavailable when
  // another process holds the lock.
  static absl::StatusOr<std::unique_ptr<RocksStore>> Open(const std::string& path,
                                                          const Options& options);
  static absl::StatusOr<std::unique_ptr<RocksStore>> Open(const std::string& path) {
    return Open(path, Options{});
  }
  ~RocksStore() override;

  absl::StatusOr<std::optional<std::string>> Get(absl::string_view key) override;
  absl::Status Commit(const WriteBatch& batch) override;
  // Memtables (active and flushing) plus the block cache: bounded by OpenDb's budget.
  std::optional<uint64_t> MemoryBytes() override;
  absl::StatusOr<uint64_t> AppendToLog(const LogAppendBuilder& build) override {
    return AppendToLogInProcess(*this, log_mu_, build);
  }
  absl::Status Scan(
      absl::string_view prefix, absl::string_view start_after,
      const std::function<bool(absl::string_view, absl::string_view)>& visit) override;

  // A consistent copy of the store in `dir`, which must not exist yet (RocksDB's
  // Checkpoint, taken while commits go on): the memtable is flushed first, so the copy
  // needs no WAL of ours; table files are hard-linked when `dir` is on the same file
  // system (they are immutable) and copied otherwise. Every file of the copy and `dir`
  // itself are fsync'd before this returns. kAlreadyExists when `dir` exists.
  absl::Status Checkpoint(const std::string& dir);

  // Flushes and compacts every level, waiting until done: a bench that pre-fills a store
  // then measures it settled, as a long-running server's store is, not while a burst of
  // level-0 files is still being compacted.
  absl::Status CompactAll();

 private:
  std::mutex log_mu_;  // the log's lock (AppendToLog)
  // A shared hold on db_ for one Get, Scan or write.
  class UsingDb {
   public:
    explicit UsingDb(RocksStore& store);
    ~UsingDb();

   private:
    std::shared_lock<std::shared_mutex> lock_;
  };

  RocksStore(std::string path, std::unique_ptr<rocksdb::Env> env, std::unique_ptr<rocksdb::DB> db);
  static absl::StatusOr<std::unique_ptr<rocksdb::DB>> OpenDb(const std::string& path,
                                                             rocksdb::Env* env);
  static absl::Status Unavailable();
  absl::Status ProbeSpace();
  absl::Status Reopen();

  const std::string path_;
  std::unique_ptr<rocksdb::Env> env_;  // outlives db_ (declared first)
  std::shared_mutex db_mu_;            // shared: each use of db_; exclusive: reopening it
  std::unique_ptr<rocksdb::DB> db_;    // null only after a reopen failed
  // Set when a write failed with a background error (ENOSPC, I/O): the next Commit
  // reopens the database first, once there is space (see Reopen()).
  std::mutex reopen_mu_;
  std::atomic<bool> needs_reopen_{false};
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_STORAGE_ROCKS_STORE_H_
