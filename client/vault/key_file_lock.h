#ifndef TEMOIN_CLIENT_VAULT_KEY_FILE_LOCK_H_
#define TEMOIN_CLIENT_VAULT_KEY_FILE_LOCK_H_

#include <chrono>
#include <string>

#include "absl/status/statusor.h"

namespace temoin::client {

// An advisory lock (flock) on vault.key, held for as long as this object lives.
//
// Why: a wipe shreds the key, then the store file by file, while another process may be
// opening that store (a `sync --watch` taking it back, a command that waited for it).
// RocksDB's open makes the directory and a LOCK file before it finds there is no store,
// leaving files the wipe then cannot remove, and an open that waited across a duress
// unlock would find the decoy's store. A check of the key before the open leaves a window
// between the two; the lock closes it. An opener holds it shared from its check of the
// key to the end of RocksDB's open (RocksDB's own LOCK never blocks: milliseconds, or
// seconds when it replays its log); a wipe holds it exclusively until the key is
// unlinked. So an open either ends before the wipe begins or starts after the key is
// gone, and refuses, unless it outlasts the wipe's patience (Exclusive).
class KeyFileLock {
 public:
  // kNotFound when `path` does not exist; kInternal when it cannot be opened or locked.
  static absl::StatusOr<KeyFileLock> Shared(const std::string& path);
  // Waits at most `patience` for openers to let go; then kDeadlineExceeded. A wipe goes on
  // without the lock then: an opener stopped mid-open (Ctrl-Z, a frozen app, a failing
  // card) must not stop a duress or panic wipe.
  static absl::StatusOr<KeyFileLock> Exclusive(const std::string& path,
                                               std::chrono::milliseconds patience);

  KeyFileLock(KeyFileLock&& other) noexcept;
  KeyFileLock& operator=(KeyFileLock&&) = delete;
  KeyFileLock(const KeyFileLock&) = delete;
  ~KeyFileLock();

  // Whether the locked file is no longer in its directory: a wipe that held the lock
  // before us has unlinked it.
  bool unlinked() const;
  // The locked file's bytes (it is at most 64 KiB); kInternal when unreadable.
  absl::StatusOr<std::string> Contents() const;

 private:
  explicit KeyFileLock(int fd) : fd_(fd) {}

  int fd_;
};

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_VAULT_KEY_FILE_LOCK_H_
