#ifndef TEMOIN_SERVER_APP_BACKUP_H_
#define TEMOIN_SERVER_APP_BACKUP_H_

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

// Backups of the embedded store (docs/operations.md). A backup is itself a data
// directory: the files that make the server what it is (config.json, vocabulary.json,
// server.toml, keys/, tls/) and db/, a RocksDB checkpoint, then BACKUP, written last, so a
// backup without it is unfinished. It holds the server's secret keys: keep it like
// the server itself. PostgreSQL stores are backed up by PostgreSQL's own tools
// (pgBackRest, deploy/pgbackrest/), not here.
namespace temoin::server {

class RocksStore;

inline constexpr char kControlSocketFile[] = "control.sock";
inline constexpr char kBackupMarkerFile[] = "BACKUP";

struct BackupReport {
  uint64_t log_size = 0;  // leaves of the transparency log in the copy
  uint64_t records = 0;   // rec/ rows
  uint64_t blobs = 0;     // finished attachments (blob/ rows)
  bool from_running_server = false;
};

// `temoin-server backup --data DIR --out OUT`. While `run` serves DIR, the checkpoint is
// taken by that process (asked on DIR/control.sock, which only DIR's owner can reach);
// otherwise here. Then copies the key files, opens the copy to count what it holds,
// fsyncs everything and writes OUT/BACKUP. kFailedPrecondition for a PostgreSQL store;
// kAlreadyExists when OUT exists and is not empty.
absl::StatusOr<BackupReport> BackupDataDir(const std::string& root, const std::string& out);

// `temoin-server restore --from BACKUP --data DIR`, the server stopped. Refuses a backup
// without BACKUP, a running server (RocksDB's lock), and a DIR whose store is not empty
// unless `force`. Nothing of DIR is deleted: what the backup replaces (db/, and any file
// that differs) is renamed to NAME.before-restore-<UTC time> first.
absl::StatusOr<BackupReport> RestoreDataDir(const std::string& from, const std::string& root,
                                            bool force);

// Serves checkpoint requests of `temoin-server backup` for a running server, on
// ROOT/control.sock (0600 in the 0700 data directory: file permissions are the access
// control). One request at a time; stops on destruction and removes the socket.
class BackupListener {
 public:
  // `store` not owned; must outlive this.
  static absl::StatusOr<std::unique_ptr<BackupListener>> Start(const std::string& root,
                                                               RocksStore* store);
  ~BackupListener();
  BackupListener(const BackupListener&) = delete;
  BackupListener& operator=(const BackupListener&) = delete;

 private:
  BackupListener(std::string path, int fd, int wake_fd, RocksStore* store);
  void Serve();
  void Answer(int client);
  const std::string path_;
  const int fd_;
  const int wake_fd_;  // eventfd: wakes Serve() to stop
  RocksStore* const store_;
  std::thread thread_;
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_APP_BACKUP_H_
