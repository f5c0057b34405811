#include "client/sync/sync_watch.h"

#include "absl/strings/str_cat.h"
#include "client/vault/store_changes.h"
#include "common/status_macros.h"

namespace temoin::client {
namespace {

// How often a watch that found the store held tries again, and how long it waits quietly
// (a `temoin record` holds it for a moment) before saying why nothing happens.
constexpr std::chrono::milliseconds kBusyRetry{50};
constexpr std::chrono::seconds kBusyQuiet{3};

enum class Woken { kDue, kChanged, kStop };

Woken WaitForReason(StoreChanges& changes, const WatchOptions& options,
                    std::chrono::milliseconds wait) {
  if (options.waiting) options.waiting(true);
  StoreChanges::Wake wake = changes.WaitFor(wait, options.stop_fd);
  if (wake == StoreChanges::Wake::kStopped) return Woken::kStop;
  if (options.waiting) options.waiting(false);
  return wake == StoreChanges::Wake::kChanged ? Woken::kChanged : Woken::kDue;
}

// false: told to stop while waiting for the store.
absl::StatusOr<bool> ReacquireWhenFree(Vault& vault, StoreChanges& changes,
                                       const WatchOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  bool said = false;
  for (;;) {
    absl::Status held = vault.Reacquire();
    if (held.ok()) return true;
    if (held.code() != absl::StatusCode::kUnavailable) return held;
    if (!said && std::chrono::steady_clock::now() - start > kBusyQuiet) {
      if (options.say) options.say("the vault is in use by another temoin command; waiting for it");
      said = true;
    }
    if (WaitForReason(changes, options, kBusyRetry) == Woken::kStop) return false;
  }
}

}  // namespace

absl::Status WatchAndSync(Vault& vault, const std::string& home, const WatchOptions& options,
                          const SyncRound& round) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<StoreChanges> changes, StoreChanges::Watch(home));
  bool due = true;
  for (;;) {
    TEMOIN_ASSIGN_OR_RETURN(RoundOutcome outcome, round(vault, due));
    const std::optional<std::chrono::milliseconds> retry = outcome.retry_after;
    vault.Release();
    changes->Discard();  // this process's own writes
    if (options.say && outcome.synced && !retry.has_value()) {
      options.say(
          absl::StrCat("watching: the next sync starts when a record is saved, or in ",
                       std::chrono::duration_cast<std::chrono::seconds>(options.interval).count(),
                       " s; Ctrl-C stops"));
    }
    Woken woken = WaitForReason(*changes, options, retry.value_or(options.interval));
    if (woken == Woken::kStop) return absl::OkStatus();
    due = woken == Woken::kDue;
    TEMOIN_ASSIGN_OR_RETURN(bool held, ReacquireWhenFree(vault, *changes, options));
    if (!held) return absl::OkStatus();
  }
}

}  // namespace temoin::client
