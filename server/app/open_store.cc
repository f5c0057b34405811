#include "server/app/open_store.h"

#include <cstdlib>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "server/storage/pg/pg_store.h"
#include "server/storage/rocks_store.h"

namespace temoin::server {

absl::StatusOr<std::string> ReadStoreConninfo(const std::string& root) {
  const std::string path = absl::StrCat(root, "/", kStoreConninfoFile);
  if (!PathExists(path)) return std::string();
  TEMOIN_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path, 64 << 10));
  std::string conninfo(absl::StripAsciiWhitespace(text));
  if (conninfo.empty()) return absl::DataLossError(absl::StrCat(path, " is empty"));
  return conninfo;
}

absl::Status SetUpPostgresStore(const std::string& root, const std::string& conninfo) {
  TEMOIN_RETURN_IF_ERROR(PgStore::CreateSchema(conninfo));
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<PgStore> store, PgStore::Open(conninfo));
  TEMOIN_ASSIGN_OR_RETURN(uint64_t keys, store->CountKeys());
  if (keys != 0) {
    return absl::AlreadyExistsError(
        "the PostgreSQL database already holds a temoin store; to add a front-end, copy the "
        "data directory of the server that made it");
  }
  return WriteFileDurably(absl::StrCat(root, "/", kStoreConninfoFile), conninfo + "\n", 0600);
}

absl::StatusOr<std::unique_ptr<Store>> OpenStore(const std::string& root) {
  TEMOIN_ASSIGN_OR_RETURN(std::string conninfo, ReadStoreConninfo(root));
  if (conninfo.empty()) {
    TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<RocksStore> rocks, RocksStore::Open(root + "/db"));
    return std::unique_ptr<Store>(std::move(rocks));
  }
  // Any number of `run` processes may share the database: what they share lives in it
  // (docs/operations.md, "Several front-ends").
  PgStore::Options options;
  // How long a write may wait for the database and its synchronous standby before the
  // call fails with UNAVAILABLE (docs/admin-guide.md, 2d).
  if (const char* ms = std::getenv("TEMOIN_PG_DEADLINE_MS"); ms != nullptr) {
    int value = 0;
    if (!absl::SimpleAtoi(ms, &value) || value < 100 || value > 600000) {
      return absl::InvalidArgumentError("TEMOIN_PG_DEADLINE_MS must be 100 to 600000");
    }
    options.deadline = std::chrono::milliseconds(value);
  }
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<PgStore> pg, PgStore::Open(conninfo, options));
  return std::unique_ptr<Store>(std::move(pg));
}

}  // namespace temoin::server
