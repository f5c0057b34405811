#include "server/storage/rocks_store.h"

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"

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

// Debian's abseil has its own string_view (not std::string_view): convert explicitly.
absl::string_view View(const rocksdb::Slice& slice) {
  return absl::string_view(slice.data(), slice.size());
}

}  // namespace

RocksStore::RocksStore(std::unique_ptr<rocksdb::DB> db) : db_(std::move(db)) {}
RocksStore::~RocksStore() = default;

absl::StatusOr<std::unique_ptr<RocksStore>> RocksStore::Open(const std::string& path,
                                                             const Options& store_options) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.paranoid_checks = true;
  options.track_and_verify_wals_in_manifest = true;
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  if (store_options.env != nullptr) options.env = store_options.env;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, path, &raw);
  std::unique_ptr<rocksdb::DB> db(raw);
  if (!s.ok()) return FromRocks(s);
  return absl::WrapUnique(new RocksStore(std::move(db)));
}

absl::StatusOr<std::optional<std::string>> RocksStore::Get(absl::string_view key) {
  std::string value;
  rocksdb::Status s =
      db_->Get(rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), &value);
  if (s.IsNotFound()) return std::nullopt;
  if (!s.ok()) return FromRocks(s);
  return value;
}

absl::Status RocksStore::Commit(const WriteBatch& batch) {
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
  rocksdb::Status s = db_->Write(write_options, &rocks_batch);
  if (!s.ok() && (s.IsNoSpace() || s.IsIOError())) {
    // RocksDB turns read-only after a background error such as ENOSPC; try to resume so
    // that the next commit succeeds once space is freed.
    db_->Resume().PermitUncheckedError();
  }
  return FromRocks(s);
}

absl::Status RocksStore::Scan(
    absl::string_view prefix, absl::string_view start_after,
    const std::function<bool(absl::string_view, absl::string_view)>& visit) {
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

}  // namespace temoin::server
