#ifndef TEMOIN_CLIENT_VAULT_STORE_CHANGES_H_
#define TEMOIN_CLIENT_VAULT_STORE_CHANGES_H_

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace temoin::client {

// Tells a process that released its vault (Vault::Release, `temoin sync --watch`) that
// another temoin command wrote to the store: inotify on HOME/store, so a record saved
// while the watch waits starts a sync at once, with no polling (which would wake a phone
// every few seconds). The events say only that some file of the store changed: the
// store's file names and sizes, never its content.
class StoreChanges {
 public:
  // kFailedPrecondition when HOME/store does not exist; kInternal when inotify fails.
  static absl::StatusOr<std::unique_ptr<StoreChanges>> Watch(const std::string& home);
  StoreChanges(const StoreChanges&) = delete;
  StoreChanges& operator=(const StoreChanges&) = delete;
  ~StoreChanges();

  // Forgets the changes seen so far: the watcher's own writes, before it released the
  // store, must not wake it. The store's own going is never forgotten.
  void Discard();

  // kGone: the store directory itself was deleted or moved (a wipe, a duress unlock);
  // kFailed: the wait itself failed.
  enum class Wake { kChanged, kTimedOut, kStopped, kGone, kFailed };
  // Waits until the store changes, `timeout` passes, or `stop_fd` (a signalfd, a pipe)
  // becomes readable; -1 for none. Changes are consumed; `stop_fd` is not read.
  Wake WaitFor(std::chrono::milliseconds timeout, int stop_fd);

 private:
  explicit StoreChanges(int fd) : fd_(fd) {}
  int fd_;
  bool gone_ = false;  // once the directory went, it stays gone for this watch
};

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_VAULT_STORE_CHANGES_H_
