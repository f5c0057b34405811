#ifndef TEMOIN_CLIENT_CLI_SYNC_RUN_H_
#define TEMOIN_CLIENT_CLI_SYNC_RUN_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/sync/sync_engine.h"
#include "client/sync/sync_watch.h"
#include "client/vault/vault.h"

namespace temoin::client::cli {

class ProgressPrinter;

// The attempts of one `temoin sync` (and of `sync --watch`): each attempt's progress line
// and summary on stderr, and after a failed one, how long to wait. After an attempt that
// moved anything forward the next starts at once, as tus and PouchDB do: on a link that
// cuts every few seconds each attempt makes some progress, and every second spent waiting
// is signal lost. Only attempts that achieved nothing back off: 1, 2, 4 … 60 s with full
// jitter, so that many devices regaining a link at once do not retry in lockstep.
class SyncRun {
 public:
  // `carry`: what attempts pass on (SyncCarry); the session of the whole run.
  SyncRun(const std::string& server, std::shared_ptr<SyncCarry> carry);
  ~SyncRun();

  // One attempt. OK when the sync completed; kFailedPrecondition when the server refused
  // records (they stay in the outbox, named on stderr); otherwise the attempt's error.
  absl::Status Attempt(Vault& vault);
  // After a failed Attempt (the next call after it): the wait before the next attempt,
  // or std::nullopt when retrying cannot help (a revoked device, a wrong pin, refused
  // records). An error when the vault cannot be read.
  absl::StatusOr<std::optional<std::chrono::milliseconds>> RetryAfter(Vault& vault,
                                                                      const absl::Status& failed);
  // Records the server refused in the last attempt (named on stderr; kept in the outbox).
  uint64_t refused() const { return refused_; }
  // Says on stderr why the next attempt waits `wait`.
  static void AnnounceRetry(const absl::Status& failed, std::chrono::milliseconds wait);

 private:
  SyncOptions options_;
  std::shared_ptr<ProgressPrinter> printer_;
  std::shared_ptr<uint64_t> bytes_sent_;
  uint64_t settled_before_ = 0;  // at the start of the last Attempt, for RetryAfter
  uint64_t refused_ = 0;
  std::mt19937_64 rng_;
  double backoff_seconds_ = 0;
};

// `sync --watch`'s rounds (client/sync/sync_watch.h) on `run`, whose carry keeps the
// connection:
// - an interval round signs in afresh, so that the server's settings, key announcements
//   and a revocation reach the device and its pin is checked (a round on a carried
//   session would make no call when there is nothing to send), and so does any round
//   once the session nears the server's 15 minutes (server/core/sessions.h), rather than
//   have an upload refused;
// - a change round with nothing to send makes no call;
// - records the server refuses are named and kept, and the watch goes on;
// - a failure with nothing to send waits for the next interval rather than retrying.
SyncRound WatchRounds(SyncRun& run, SyncCarry& carry);

}  // namespace temoin::client::cli

#endif  // TEMOIN_CLIENT_CLI_SYNC_RUN_H_
