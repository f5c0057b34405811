#ifndef TEMOIN_CLIENT_DESK_DESK_STATE_H_
#define TEMOIN_CLIENT_DESK_DESK_STATE_H_

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "client/core/review_desk.h"
#include "client/vault/vault.h"
#include "google/protobuf/message.h"

// Everything the desk holds decrypted, and the idle lock that wipes it. Locked, the desk
// holds nothing but the home directory's path: no vault key, no record. Thread-safe:
// every method takes the one mutex (the HTTP server answers on a thread pool).
namespace temoin::client::desk {

using Clock = std::chrono::steady_clock;

// The decrypted desk: what the API reads while the vault is open.
struct Unlocked {
  std::unique_ptr<Vault> vault;
  OpenedDesk desk;
  std::vector<std::string> searchable;  // SearchableText of desk.records[i]
};

// Re-reads every fetched record (after a pull), wiping the previous ones first.
absl::Status Reopen(Unlocked& u);

// Opens the vault and reads the desk from it (OpenUnlocked below, in production).
using Opener =
    std::function<absl::StatusOr<std::unique_ptr<Unlocked>>(absl::string_view passphrase)>;

// Vault::Open under `home`, then Reopen.
absl::StatusOr<std::unique_ptr<Unlocked>> OpenUnlocked(const std::string& home,
                                                       absl::string_view passphrase);

class DeskState {
 public:
  DeskState(std::string home, Clock::duration idle_limit)
      : DeskState(idle_limit, [home = std::move(home)](absl::string_view passphrase) {
          return OpenUnlocked(home, passphrase);
        }) {}
  // Tests give their own opener.
  DeskState(Clock::duration idle_limit, Opener opener)
      : opener_(std::move(opener)), idle_limit_(idle_limit) {}
  ~DeskState() { Lock(); }
  DeskState(const DeskState&) = delete;
  DeskState& operator=(const DeskState&) = delete;

  // Opens the vault and every fetched record (client/core OpenDesk). The caller wipes
  // `passphrase`. kUnauthenticated "wrong passphrase" and the vault's other errors;
  // unlocking an unlocked desk first locks it.
  absl::Status Unlock(absl::string_view passphrase, Clock::time_point now);

  // Wipes every decrypted value (testimonies, search text) and closes the vault.
  void Lock();

  // Locks when idle for longer than the limit; returns true when the desk is (now or
  // already) locked.
  bool LockIfIdle(Clock::time_point now);

  // Runs `use` on the unlocked desk and counts as activity. kFailedPrecondition
  // "locked" when the desk is locked (or idle too long, which locks it first).
  absl::Status WithUnlocked(Clock::time_point now,
                            const std::function<absl::Status(Unlocked&)>& use);

  bool unlocked() const;
  // When the idle lock falls due; Clock::time_point::max() when locked.
  Clock::time_point lock_due() const;

 private:
  void LockHeld();

  const Opener opener_;
  const Clock::duration idle_limit_;
  mutable std::mutex mu_;
  std::unique_ptr<Unlocked> unlocked_;
  Clock::time_point last_activity_;
};

// Overwrites every string and bytes field of `message`, recursively, with zeros before
// the message is cleared: protobuf frees strings without wiping them.
void WipeMessage(google::protobuf::Message& message);

}  // namespace temoin::client::desk

#endif  // TEMOIN_CLIENT_DESK_DESK_STATE_H_
