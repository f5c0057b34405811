#ifndef TEMOIN_CLIENT_SYNC_SYNC_WATCH_H_
#define TEMOIN_CLIENT_SYNC_SYNC_WATCH_H_

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "client/vault/vault.h"

namespace temoin::client {

// `temoin sync --watch`: one process that stays up, the shape of a phone app's background
// sync. It syncs as soon as a record is saved (by `temoin record` in another process) and
// every `interval` even with nothing new (reviewers' pulls, the server's settings, owed
// proofs). Between syncs the vault's store is released, so that other commands can open
// it; the keys stay in this process's memory until it stops. One session, one channel
// and one connection serve every sync while they last (SyncCarry::keep_connection).
struct WatchOptions {
  std::chrono::milliseconds interval = std::chrono::minutes(10);
  // The watch ends (OK) when this becomes readable while it waits: a signalfd for
  // SIGINT and SIGTERM in the command, a pipe in tests. -1: never.
  int stop_fd = -1;
  // Called with true before each wait and false after it (unless the watch then stops):
  // in the command, SIGINT and
  // SIGTERM stop the watch cleanly while it waits and end the process during a sync
  // (which loses nothing; client/cli/stop_signals.h).
  std::function<void(bool waiting)> waiting;
  // One line for a person (stderr in the command); no secrets or names are passed to it.
  std::function<void(const std::string&)> say;
};

// What a round did: whether it attempted a sync at all (a round woken by a change with
// nothing to send does not), and how long to wait before retrying a failed attempt
// worth retrying.
struct RoundOutcome {
  bool attempted = true;
  std::optional<std::chrono::milliseconds> retry_after;
};

// Why a round runs: the first round and each `interval` (kInterval), the end of a retry's
// wait (kRetry), a change to the store by another command (kChanged: a round with
// nothing to send should return at once).
enum class RoundReason { kInterval, kRetry, kChanged };

// One round, on a held vault. An error ends the watch.
using SyncRound = std::function<absl::StatusOr<RoundOutcome>(Vault& vault, RoundReason reason)>;

// Runs rounds until `stop_fd` says stop (OK) or a round fails. `home` is the vault's.
// A vault wiped or replaced meanwhile (`temoin wipe`, a duress unlock) stops the watch
// as quietly as `stop_fd` does, without opening what is there now.
absl::Status WatchAndSync(Vault& vault, const std::string& home, const WatchOptions& options,
                          const SyncRound& round);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_SYNC_SYNC_WATCH_H_
