#include "server/app/migrate_store.h"

#include <deque>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "server/app/open_store.h"
#include "server/storage/pg/pg_store.h"
#include "server/storage/rocks_store.h"

namespace temoin::server {
namespace {

constexpr size_t kBatchBytes = 8 << 20;  // one PostgreSQL transaction per ~8 MiB
constexpr size_t kBatchKeys = 2000;

// Copies every key but the log size, which only AppendToLog may write (with log_head).
absl::Status CopyKeys(RocksStore& from, PgStore& to, MigrationReport& report) {
  WriteBatch batch;
  size_t batch_bytes = 0, batch_keys = 0;
  absl::Status failed;
  TEMOIN_RETURN_IF_ERROR(from.Scan("", "", [&](absl::string_view key, absl::string_view value) {
    ++report.keys;
    report.bytes += key.size() + value.size();
    if (absl::StartsWith(key, "rec/")) ++report.records;
    if (absl::StartsWith(key, "aud/")) ++report.audit_entries;
    if (key == kLogSizeKey) return true;
    batch.Put(key, value);
    batch_bytes += key.size() + value.size();
    if (++batch_keys >= kBatchKeys || batch_bytes >= kBatchBytes) {
      failed = to.Commit(batch);
      batch = WriteBatch();
      batch_bytes = batch_keys = 0;
    }
    return failed.ok();
  }));
  TEMOIN_RETURN_IF_ERROR(failed);
  return to.Commit(batch);
}

// Both stores in key order side by side: every key and value equal, none extra.
absl::Status VerifyCopy(RocksStore& from, PgStore& to) {
  std::deque<std::pair<std::string, std::string>> pending;  // read from PostgreSQL
  std::string after;
  bool pg_done = false;
  auto refill = [&]() -> absl::Status {
    size_t got = 0;
    TEMOIN_RETURN_IF_ERROR(to.Scan("", after, [&](absl::string_view key, absl::string_view value) {
      pending.emplace_back(key, value);
      after = std::string(key);
      return ++got < 256;
    }));
    pg_done = got == 0;
    return absl::OkStatus();
  };
  absl::Status mismatch;
  TEMOIN_RETURN_IF_ERROR(from.Scan("", "", [&](absl::string_view key, absl::string_view value) {
    if (pending.empty() && !pg_done) mismatch = refill();
    if (!mismatch.ok()) return false;
    if (pending.empty() || pending.front().first != key || pending.front().second != value) {
      mismatch = absl::DataLossError(
          absl::StrCat("verification failed: a key or value differs in PostgreSQL (", key.size(),
                       "-byte key); the data directory still uses RocksDB"));
      return false;
    }
    pending.pop_front();
    return true;
  }));
  TEMOIN_RETURN_IF_ERROR(mismatch);
  if (pending.empty() && !pg_done) TEMOIN_RETURN_IF_ERROR(refill());
  if (!pending.empty()) {
    return absl::DataLossError("verification failed: PostgreSQL holds keys RocksDB does not");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<MigrationReport> MigrateToPostgres(const std::string& root,
                                                  const std::string& conninfo) {
  if (!PathExists(root + "/config.json")) {
    return absl::FailedPreconditionError(
        absl::StrCat(root, " is not a temoin data directory; run temoin-server init first"));
  }
  TEMOIN_ASSIGN_OR_RETURN(std::string current, ReadStoreConninfo(root));
  if (!current.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(root, " already keeps its store in PostgreSQL"));
  }
  absl::StatusOr<std::unique_ptr<RocksStore>> from = RocksStore::Open(root + "/db");
  if (!from.ok()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "cannot open the store (is temoin-server run still running on this data directory? "
        "stop it first): ",
        from.status().message()));
  }
  TEMOIN_RETURN_IF_ERROR(PgStore::CreateSchema(conninfo));
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<PgStore> to,
                          PgStore::Open(conninfo, {.single_process = true}));
  TEMOIN_ASSIGN_OR_RETURN(uint64_t existing, to->CountKeys());
  if (existing != 0) {
    return absl::FailedPreconditionError(
        "the PostgreSQL database is not empty; migrate into a new database");
  }
  MigrationReport report;
  TEMOIN_ASSIGN_OR_RETURN(report.log_size, (*from)->LogSize());
  TEMOIN_RETURN_IF_ERROR(CopyKeys(**from, *to, report));
  // The log's size last, through the sequencer, so that log_head agrees with it.
  TEMOIN_ASSIGN_OR_RETURN(uint64_t pg_log_size,
                          to->AppendToLog([&](uint64_t size) -> absl::StatusOr<LogAppend> {
                            return LogAppend{.new_size = size + report.log_size};
                          }));
  TEMOIN_RETURN_IF_ERROR(VerifyCopy(**from, *to));
  TEMOIN_ASSIGN_OR_RETURN(uint64_t copied, to->CountKeys());
  if (copied != report.keys || pg_log_size != report.log_size) {
    return absl::DataLossError(absl::StrCat("verification failed: ", copied, " keys and ",
                                            pg_log_size, " log leaves in PostgreSQL, ", report.keys,
                                            " and ", report.log_size, " in RocksDB"));
  }
  TEMOIN_RETURN_IF_ERROR(
      WriteFileDurably(absl::StrCat(root, "/", kStoreConninfoFile), conninfo + "\n", 0600));
  return report;
}

}  // namespace temoin::server
