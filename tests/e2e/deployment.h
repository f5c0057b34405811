#ifndef TEMOIN_TESTS_E2E_DEPLOYMENT_H_
#define TEMOIN_TESTS_E2E_DEPLOYMENT_H_

// A whole deployment on loopback for the sync tests: a server data directory and its
// `temoin-server run`, an admin, one project, N monitors and a granted reviewer, and the
// helpers those tests share (record, sync, status, export, read the server's store).
// Not thread-safe, except KillServer(), which may be called from another thread.

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "temoin/v1/testimony.pb.h"
#include "tests/e2e/harness.h"

namespace temoin::e2e {

// The build tree's binaries, or those under $TEMOIN_E2E_BINARY_DIR (same layout:
// client/temoin, server/temoin-server), e.g. a copy that a concurrent build cannot relink
// under a running test.
std::string ClientBinary();
std::string ServerBinary();
std::string WitnessBinary();  // witness/temoin-witness
inline constexpr char kDeploymentProject[] = "gao-2026";

std::string Trim(const std::string& s);

class Deployment {
 public:
  // Initialises and starts a server, enrols the admin, creates the project, enrols
  // `monitors` monitors and one reviewer granted the project. `init_args` go to
  // `temoin-server init` (e.g. --store CONNINFO).
  static absl::StatusOr<std::unique_ptr<Deployment>> Create(
      const std::string& prefix, int monitors, const std::vector<std::string>& init_args = {});
  ~Deployment();

  const TempDir& dir() const { return *dir_; }
  int port() const { return port_; }
  const std::string& server_data() const { return server_data_; }
  const std::string& admin() const { return admin_; }
  const std::string& reviewer() const { return reviewer_; }
  const std::vector<std::string>& monitors() const { return monitors_; }
  const std::vector<std::string>& monitor_ids() const { return monitor_ids_; }
  pid_t server_pid() const { return server_pid_.load(); }
  bool server_running() const { return server_ != nullptr; }

  // `temoin --home HOME args...` with the passphrase set. exit_code -1 when it could not
  // be started; timed_out when it was SIGKILLed at `timeout`.
  CommandResult Temoin(const std::string& home, const std::vector<std::string>& args,
                       std::chrono::milliseconds timeout = std::chrono::seconds(120)) const;
  // Like Temoin(), left running (`sync --watch`); its stdout and stderr go to `log_path`.
  absl::StatusOr<std::unique_ptr<ChildProcess>> StartTemoin(const std::string& home,
                                                            const std::vector<std::string>& args,
                                                            const std::string& log_path) const;
  // Like Temoin(), for steps that must succeed: stdout, or why it failed.
  absl::StatusOr<std::string> Run(const std::string& home,
                                  const std::vector<std::string>& args) const;

  absl::Status StartServer();
  // `temoin-server tls SUBCOMMAND --data DIR` (next, switch): its stdout trimmed, a pin
  // in hex.
  absl::StatusOr<std::string> ServerTls(const std::string& subcommand) const;
  // SIGKILL; the process is reaped by the next StartServer() or StopServer().
  void KillServer();
  void StopServer();  // SIGTERM, then SIGKILL after a grace period
  // SIGTERM; ServerProcess::Terminate's answer (the exit code, or -1 when it outlived
  // `grace` and was SIGKILLed).
  int TerminateServer(std::chrono::milliseconds grace);

  // Records the testimonies with one `record --from` of a JSON array; returns each
  // original under the id `record` printed, in order.
  absl::StatusOr<std::vector<std::pair<std::string, v1::Testimony>>> Record(
      const std::string& home, const std::vector<v1::Testimony>& testimonies,
      const std::vector<std::string>& extra_args = {}) const;

  // `status --json`'s "records" object (count per state).
  absl::StatusOr<nlohmann::json> RecordCounts(const std::string& home) const;

  // The reviewer syncs and exports JSON; every element of the array.
  absl::StatusOr<std::vector<nlohmann::json>> ReviewerExport(
      const std::vector<std::string>& extra_export_args = {}) const;

  // Hex record ids stored on the server, read from its RocksDB in read-only mode (works
  // while the server runs or after it was killed), and the number of log entries.
  struct ServerListing {
    std::vector<std::string> record_ids;
    uint64_t log_entries = 0;
  };
  absl::StatusOr<ServerListing> ListServerRecords() const;
  // The same for any server data directory (e.g. a second server in a test).
  static absl::StatusOr<ServerListing> ListServerRecordsIn(const std::string& server_data);

 private:
  Deployment() = default;
  std::unique_ptr<TempDir> dir_;
  int port_ = 0;
  std::string server_data_, admin_, reviewer_;
  std::vector<std::string> monitors_, monitor_ids_;
  std::unique_ptr<ServerProcess> server_;
  std::atomic<pid_t> server_pid_{-1};
  int server_starts_ = 0;
};

}  // namespace temoin::e2e

#endif  // TEMOIN_TESTS_E2E_DEPLOYMENT_H_
