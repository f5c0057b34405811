#ifndef TEMOIN_SERVER_APP_OPEN_STORE_H_
#define TEMOIN_SERVER_APP_OPEN_STORE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/storage/store.h"

// Which engine holds a data directory's store: RocksDB in DIR/db (the default), or the
// PostgreSQL database named by DIR/store.conninfo (0600; written by
// `temoin-server init --store CONNINFO`). Keys and the TLS certificate stay in the data
// directory either way: the database never holds them.
namespace temoin::server {

inline constexpr char kStoreConninfoFile[] = "store.conninfo";

// The conninfo recorded in `root`, or "" for the embedded RocksDB store.
absl::StatusOr<std::string> ReadStoreConninfo(const std::string& root);

// Records `conninfo` in `root` (0600: it may hold a password) and creates the schema in
// the database. kAlreadyExists when the database already holds a temoin store: copy the
// data directory of the server that made it instead (every front-end shares its keys).
absl::Status SetUpPostgresStore(const std::string& root, const std::string& conninfo);

// Opens the store of data directory `root`. RocksDB: kUnavailable when another process
// holds it. PostgreSQL: kUnavailable when the database cannot be reached.
absl::StatusOr<std::unique_ptr<Store>> OpenStore(const std::string& root);

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_APP_OPEN_STORE_H_
