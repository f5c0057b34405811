// Sealed record bytes on a server: the sum of the envelopes it stores (rec/<id> rows,
// temoin.v1.StoredRecord), read from its RocksDB in read-only mode while it runs.

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "rocksdb/db.h"
#include "temoin/v1/server_store.pb.h"

namespace temoin::bench {

absl::StatusOr<int64_t> SealedRecordBytes(const std::string& server_data) {
  rocksdb::Options options;
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(options, server_data + "/db", &raw);
  std::unique_ptr<rocksdb::DB> db(raw);
  if (!s.ok()) return absl::InternalError("open server store read-only: " + s.ToString());
  int64_t total = 0;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek("rec/"); it->Valid() && it->key().starts_with("rec/"); it->Next()) {
    v1::StoredRecord row;
    if (!row.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::InternalError("a rec/ row does not parse as StoredRecord");
    }
    total += static_cast<int64_t>(row.envelope().ByteSizeLong());
  }
  if (!it->status().ok()) return absl::InternalError("scan: " + it->status().ToString());
  return total;
}

}  // namespace temoin::bench
