#include "server/storage/rocks_store.h"

#include <cstdarg>
#include <cstdio>
#include <filesystem>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/slice_transform.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"
#include "server/log/log.h"

namespace temoin::server {
namespace {

// rocksdb::Status -> absl at the storage edge. RocksDB's own text stays in the message
// for the local log; the RPC layer hides kInternal/kDataLoss details from peers.
absl::Status FromRocks(const rocksdb::Status& s) {
  if (s.ok()) return absl::OkStatus();
  if (s.IsNoSpace() || s.subcode() == rocksdb::Status::kSpaceLimit) {
    return absl::ResourceExhaustedError("server storage is full");
  }
  if (s.IsCorruption()) return absl::DataLossError(s.ToString());
  if (s.IsBusy() || s.IsTryAgain()) return absl::UnavailableError(s.ToString());
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    return absl::UnavailableError(
        absl::StrCat("store is in use by another process: ", s.ToString()));
  }
  return absl::InternalError(s.ToString());
}

// RocksDB recovers from ENOSPC on its own by polling free space every few seconds,
// and refuses a manual Resume() (Busy) meanwhile, so the first commits after space is
// freed would still fail. It skips that automatic recovery when the Env cannot report
// free space; RocksStore then resumes before the next commit itself.
class ManualRecoveryEnv : public rocksdb::EnvWrapper {
 public:
  explicit ManualRecoveryEnv(rocksdb::Env* base) : rocksdb::EnvWrapper(base) {}
  const char* Name() const override { return "TemoinManualRecoveryEnv"; }
  rocksdb::Status GetFreeSpace(const std::string&, uint64_t*) override {
    return rocksdb::Status::NotSupported();
  }
};

// RocksDB's warnings and errors as events of the server's log (event=rocksdb). Not
// RocksDB's LOG file: see common/rocksdb_logger.h for why. RocksDB never writes keys or
// values to its info log.
class RocksDbServerLogger : public rocksdb::Logger {
 public:
  RocksDbServerLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override { Emit(log::Level::kWarning, format, ap); }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    Emit(level >= rocksdb::InfoLogLevel::ERROR_LEVEL ? log::Level::kError : log::Level::kWarning,
         format, ap);
  }

 private:
  static void Emit(log::Level level, const char* format, va_list ap) {
    char line[1024];
    std::vsnprintf(line, sizeof line, format, ap);
    log::Write(level, "rocksdb", {{"message", line}});
  }
};

// Debian's abseil has its own string_view (not std::string_view): convert explicitly.
absl::string_view View(const rocksdb::Slice& slice) {
  return absl::string_view(slice.data(), slice.size());
}

}  // namespace

RocksStore::RocksStore(std::string path, std::unique_ptr<rocksdb::Env> env,
                       std::unique_ptr<rocksdb::DB> db)
    : path_(std::move(path)), env_(std::move(env)), db_(std::move(db)) {}

namespace {
// Shared locks of RocksStore::db_mu_ this thread holds (any store): a thread that holds
// one cannot take it exclusively to reopen, e.g. a Commit from inside a Scan.
thread_local int db_users_on_thread = 0;
}  // namespace

RocksStore::UsingDb::UsingDb(RocksStore& store) : lock_(store.db_mu_) { ++db_users_on_thread; }
RocksStore::UsingDb::~UsingDb() { --db_users_on_thread; }

absl::Status RocksStore::Unavailable() {
  return absl::ResourceExhaustedError("server storage is unavailable; retry later");
}

// After a failed write RocksDB keeps the WAL writer that saw the error, and the next
// write after Resume() appends to it again, which Debian's RocksDB build turns into an
// abort (an assert in WritableFileWriter; tests/e2e/disk_full_test). Closing and
// opening the database instead starts a fresh WAL; what was acknowledged is in the
// old one (synced) and is replayed, and a torn tail record of the failed write is
// dropped (kTolerateCorruptedTailRecords): it was never acknowledged.
absl::Status RocksStore::Reopen() {
  std::lock_guard reopening(reopen_mu_);
  if (!needs_reopen_.load()) return absl::OkStatus();
  if (db_users_on_thread > 0) return Unavailable();
  // Reopening while the disk is still full would fail the same way: wait for space.
  TEMOIN_RETURN_IF_ERROR(ProbeSpace());
  std::unique_lock exclusive(db_mu_);
  db_.reset();
  absl::StatusOr<std::unique_ptr<rocksdb::DB>> db = OpenDb(path_, env_.get());
  if (!db.ok()) {
    log::Error("store_reopen_failed", {{"detail", db.status().message()}});
    return Unavailable();  // db_ stays closed; the next Commit tries again
  }
  db_ = std::move(*db);
  needs_reopen_.store(false);
  return absl::OkStatus();
}

// Reopen only once a synced write of a few MiB goes through: reopening writes a new WAL
// and MANIFEST, and failing that for want of space would leave the store closed.
absl::Status RocksStore::ProbeSpace() {
  const std::string probe = path_ + "/TEMOIN_SPACE_PROBE";
  std::unique_ptr<rocksdb::WritableFile> file;
  rocksdb::Status s = env_->NewWritableFile(probe, &file, rocksdb::EnvOptions());
  if (s.ok()) {
    const std::string block(256 << 10, '\0');
    for (int i = 0; i < 16 && s.ok(); ++i) s = file->Append(block);
    if (s.ok()) s = file->Sync();
    rocksdb::Status closed = file->Close();
    if (s.ok()) s = closed;
  }
  env_->DeleteFile(probe).PermitUncheckedError();
  if (!s.ok()) return absl::ResourceExhaustedError("server storage is full");
  return absl::OkStatus();
}
RocksStore::~RocksStore() = default;

namespace {

// The server runs for years; its memory must not grow with what it stores. RocksDB's
// defaults do not bound it: a 64 MiB memtable fills for hours before its first flush
// (the fleet hour's RSS rose 1.24x, docs/fuzzing.md), and with every table file open
// their index and filter blocks stay on the heap outside any cache, growing with the
// store. So: two 16 MiB memtables at most (a flush every ~16 MiB of writes, still large
// enough that a 1,000-record batch commits without a stall), and index, filter and data
// blocks all charged to one 32 MiB LRU cache, level-0's pinned so recent reads stay
// cheap. Ceiling for the store: ~64 MiB plus the table readers' small fixed parts.
constexpr size_t kMemtableBytes = 16u << 20;
constexpr size_t kBlockCacheBytes = 32u << 20;

void BoundMemory(rocksdb::Options& options) {
  options.write_buffer_size = kMemtableBytes;
  options.max_write_buffer_number = 2;
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = rocksdb::NewLRUCache(kBlockCacheBytes);
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  // Most lookups are for keys that are absent (a new record's id before it is stored, a
  // blob not yet held): a Bloom filter answers them without reading a data block, which
  // otherwise filled the cache with blocks read only to learn a key is not there.
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  // Partitioned: a table's index and filter are cut into 4 KiB blocks under a small
  // pinned top level, so a lookup loads the partitions it needs, not the whole table's.
  // Unpartitioned, a million stored records' filters and indexes (~25 MB) outgrew the
  // cache, and every lookup evicted and re-read megabyte blocks: ingest at 1,000,000
  // stored records ran at 0.38x its rate at 10,000 (docs/BENCHMARKS.md).
  table.index_type = rocksdb::BlockBasedTableOptions::IndexType::kTwoLevelIndexSearch;
  table.partition_filters = true;
  table.metadata_block_size = 4096;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  table.pin_top_level_index_and_filter = true;
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
}

}  // namespace

absl::StatusOr<std::unique_ptr<rocksdb::DB>> RocksStore::OpenDb(const std::string& path,
                                                                rocksdb::Env* env) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  options.track_and_verify_wals_in_manifest = true;
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  options.info_log = std::make_shared<RocksDbServerLogger>();
  options.env = env;
  // Insert hints for keys that arrive in order within their first 8 bytes ("log/" and
  // the transparency log's "tlog/n/<level>" rows, each by increasing index): a commit's
  // node and index rows then go into the memtable next to the last one, not through a
  // fresh skiplist search. Reads are untouched (this is not `prefix_extractor`).
  options.memtable_insert_with_hint_prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(8));
  BoundMemory(options);
  // RocksDB lists the database directory before creating it and logs a missing one as
  // an error ("Error when reading ... dir"), which `temoin-server init` printed on every
  // new data directory. Made here first, private to the server's user.
  std::error_code made;
  if (std::filesystem::create_directories(path, made)) {
    std::filesystem::permissions(path, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, made);
  }
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, path, &raw);
  std::unique_ptr<rocksdb::DB> db(raw);
  if (!s.ok()) return FromRocks(s);
  return db;
}

std::optional<uint64_t> RocksStore::MemoryBytes() {
  uint64_t memtables = 0, cache = 0;
  UsingDb using_db(*this);  // a scrape may come while a full disk's reopen has closed db_
  if (db_ == nullptr) return std::nullopt;
  if (!db_->GetIntProperty(rocksdb::DB::Properties::kSizeAllMemTables, &memtables) ||
      !db_->GetIntProperty(rocksdb::DB::Properties::kBlockCacheUsage, &cache)) {
    return std::nullopt;
  }
  return memtables + cache;
}

absl::StatusOr<std::unique_ptr<RocksStore>> RocksStore::Open(const std::string& path,
                                                             const Options& store_options) {
  auto env = std::make_unique<ManualRecoveryEnv>(
      store_options.env != nullptr ? store_options.env : rocksdb::Env::Default());
  absl::StatusOr<std::unique_ptr<rocksdb::DB>> db = OpenDb(path, env.get());
  if (!db.ok()) return db.status();
  return absl::WrapUnique(new RocksStore(path, std::move(env), std::move(*db)));
}

absl::StatusOr<std::optional<std::string>> RocksStore::Get(absl::string_view key) {
  std::string value;
  UsingDb using_db(*this);
  if (db_ == nullptr) return Unavailable();
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocks(s);
  return value;
}

absl::Status RocksStore::Commit(const WriteBatch& batch) {
  if (needs_reopen_.load()) TEMOIN_RETURN_IF_ERROR(Reopen());
  rocksdb::WriteBatch rocks_batch;
  for (const auto& [key, value] : batch.ops()) {
    if (value.has_value()) {
      rocks_batch.Put(key, *value);
    } else {
      rocks_batch.Delete(key);
    }
  }
  rocksdb::WriteOptions write_options;
  write_options.sync = true;  // acknowledged means fsync'd (DESIGN.md "Sync")
  UsingDb using_db(*this);
  if (db_ == nullptr) return Unavailable();
  rocksdb::Status s = db_->Write(write_options, &rocks_batch);
  if (!s.ok() && (s.IsNoSpace() || s.IsIOError())) needs_reopen_.store(true);
  return FromRocks(s);
}

absl::Status RocksStore::Scan(
    absl::string_view prefix, absl::string_view start_after,
    const std::function<bool(absl::string_view, absl::string_view)>& visit) {
  UsingDb using_db(*this);
  if (db_ == nullptr) return Unavailable();
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  // Start at whichever sorts later: the prefix or just after `start_after`.
  if (start_after < prefix) {
    it->Seek(rocksdb::Slice(prefix.data(), prefix.size()));
  } else {
    it->Seek(rocksdb::Slice(start_after.data(), start_after.size()));
    if (it->Valid() && View(it->key()) == start_after) it->Next();
  }
  for (; it->Valid(); it->Next()) {
    absl::string_view key = View(it->key());
    if (key.substr(0, prefix.size()) != prefix) break;
    if (!visit(key, View(it->value()))) break;
  }
  return FromRocks(it->status());
}

absl::Status RocksStore::Checkpoint(const std::string& dir) {
  if (PathExists(dir)) return absl::AlreadyExistsError(absl::StrCat(dir, " already exists"));
  UsingDb using_db(*this);
  if (db_ == nullptr) return Unavailable();
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(db_.get(), &raw);
  if (!s.ok()) return FromRocks(s);
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // log_size_for_flush 0: always flush, so the copy is table files and a MANIFEST only.
  s = checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0);
  if (!s.ok()) return FromRocks(s);
  // RocksDB syncs what it copies; hard links and the directory entries are ours to sync.
  return SyncTree(dir);
}

absl::Status RocksStore::CompactAll() {
  UsingDb using_db(*this);
  if (db_ == nullptr) return Unavailable();
  rocksdb::CompactRangeOptions options;
  options.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForceOptimized;
  return FromRocks(db_->CompactRange(options, nullptr, nullptr));
}

}  // namespace temoin::server
