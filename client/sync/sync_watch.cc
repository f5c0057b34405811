#include "client/sync/sync_watch.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "client/vault/store_changes.h"
#include "common/status_macros.h"

namespace temoin::client {
namespace {

using Clock = std::chrono::steady_clock;

// How soon a watch that found the store held tries again: at once at first (a `temoin
// record --from` holds it for a moment), then less often (an interactive record, the
// desk, hold it for minutes). And how long it waits quietly before saying why.
constexpr std::chrono::milliseconds kBusyFirstRetry{50};
constexpr std::chrono::milliseconds kBusyLongestRetry{1000};
constexpr std::chrono::seconds kBusyQuiet{3};

enum class Woken { kDue, kChanged, kStop };

// Waits until `deadline`, a change to the store or a stop; `announce` (when not empty) is
// said once the wait has begun, so that whoever reads it may stop the watch at once.
absl::StatusOr<Woken> WaitForReason(StoreChanges& changes, const WatchOptions& options,
                                    Clock::time_point deadline, const std::string& announce = "") {
  if (options.waiting) options.waiting(true);
  if (!announce.empty() && options.say) options.say(announce);
  const auto left =
      std::max(std::chrono::milliseconds(0),
               std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()));
  switch (changes.WaitFor(left, options.stop_fd)) {
    case StoreChanges::Wake::kStopped:
    case StoreChanges::Wake::kGone:  // wiped, or replaced by a duress unlock: stop quietly
      return Woken::kStop;
    case StoreChanges::Wake::kFailed:
      return absl::InternalError("cannot wait for changes to the vault");
    case StoreChanges::Wake::kChanged:
      if (options.waiting) options.waiting(false);
      return Woken::kChanged;
    case StoreChanges::Wake::kTimedOut:
      break;
  }
  if (options.waiting) options.waiting(false);
  return Woken::kDue;
}

// false: the watch must stop (told to, or the vault went) while the store was held. The
// key is looked at before every try and after the store is in hand: a duress unlock
// holds the store while it wipes, and the watch must not open (and so recreate) what it
// is shredding, nor sync from it.
absl::StatusOr<bool> ReacquireWhenFree(Vault& vault, StoreChanges& changes,
                                       const WatchOptions& options) {
  const auto start = Clock::now();
  auto retry = kBusyFirstRetry;
  bool said = false;
  for (;;) {
    if (vault.WipedOrReplaced()) return false;
    absl::Status held = vault.Reacquire();
    if (held.ok() && vault.WipedOrReplaced()) {
      vault.Release();
      return false;
    }
    if (held.ok()) return true;
    if (held.code() != absl::StatusCode::kUnavailable) return held;
    if (!said && Clock::now() - start > kBusyQuiet) {
      if (options.say) options.say("another temoin command is using the vault; waiting for it");
      said = true;
    }
    TEMOIN_ASSIGN_OR_RETURN(Woken woken, WaitForReason(changes, options, Clock::now() + retry));
    if (woken == Woken::kStop) return false;
    retry = std::min(retry * 2, kBusyLongestRetry);
  }
}

std::string WatchingLine(const WatchOptions& options) {
  return absl::StrCat("watching: the next sync starts when a record is saved, or in ",
                      std::chrono::duration_cast<std::chrono::seconds>(options.interval).count(),
                      " s; Ctrl-C stops");
}

}  // namespace

absl::Status WatchAndSync(Vault& vault, const std::string& home, const WatchOptions& options,
                          const SyncRound& round) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<StoreChanges> changes, StoreChanges::Watch(home));
  RoundReason reason = RoundReason::kInterval;
  Clock::time_point deadline;
  bool deadline_is_retry = false;
  for (;;) {
    TEMOIN_ASSIGN_OR_RETURN(RoundOutcome outcome, round(vault, reason));
    vault.Release();
    changes->Discard();  // this process's own writes
    // A round woken by a change that found nothing to send keeps the deadline (a retry's,
    // the interval's) it interrupted.
    if (outcome.attempted || reason != RoundReason::kChanged) {
      deadline = Clock::now() + outcome.retry_after.value_or(options.interval);
      deadline_is_retry = outcome.retry_after.has_value();
    }
    const bool announce = outcome.attempted && !outcome.retry_after.has_value();
    TEMOIN_ASSIGN_OR_RETURN(Woken woken, WaitForReason(*changes, options, deadline,
                                                       announce ? WatchingLine(options) : ""));
    if (woken == Woken::kStop || vault.WipedOrReplaced()) return absl::OkStatus();
    reason = woken == Woken::kChanged ? RoundReason::kChanged
             : deadline_is_retry      ? RoundReason::kRetry
                                      : RoundReason::kInterval;
    absl::StatusOr<bool> held = ReacquireWhenFree(vault, *changes, options);
    // A wipe shreds the key first, then the store file by file: a store that fails to open
    // under a key that is gone is the wipe's, not an error.
    if (!held.ok() && vault.WipedOrReplaced()) return absl::OkStatus();
    if (!held.ok()) return held.status();
    if (!*held) return absl::OkStatus();
  }
}

}  // namespace temoin::client
