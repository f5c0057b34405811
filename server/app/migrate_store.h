#ifndef TEMOIN_SERVER_APP_MIGRATE_STORE_H_
#define TEMOIN_SERVER_APP_MIGRATE_STORE_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace temoin::server {

struct MigrationReport {
  uint64_t keys = 0;           // every key of the store
  uint64_t bytes = 0;          // keys and values
  uint64_t records = 0;        // rec/ rows
  uint64_t audit_entries = 0;  // aud/ rows
  uint64_t log_size = 0;       // leaves of the transparency log
};

// `temoin-server migrate`: copies the embedded RocksDB store of data directory `root`
// into the (empty) PostgreSQL database `conninfo`, then reads both back side by side
// and checks that every key and value is equal and the log has the same size; only then
// records the conninfo in `root` (store.conninfo), so that `run` uses PostgreSQL. DIR/db
// is left untouched. kFailedPrecondition when the server is running (RocksDB's lock),
// when `root` is already on PostgreSQL, or when the database is not empty.
absl::StatusOr<MigrationReport> MigrateToPostgres(const std::string& root,
                                                  const std::string& conninfo);

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_APP_MIGRATE_STORE_H_
