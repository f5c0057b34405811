#ifndef TEMOIN_CLIENT_VAULT_KEY_FILE_LOCK_H_
#define TEMOIN_CLIENT_VAULT_KEY_FILE_LOCK_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace temoin::client {

// Which file a vault was unlocked from. A wipe unlinks it; a duress unlock puts another
// in its place; a passphrase change rewrites it in place (the same file). The inode alone
// does not tell: ext4 gives a file made just after an unlink the inode it freed. Its
// birth time does, where the filesystem records one (ext4, f2fs, btrfs, xfs; zero
// where it does not).
struct KeyFileIdentity {
  uint64_t device = 0;
  uint64_t inode = 0;
  int64_t born_seconds = 0;
  uint32_t born_nanoseconds = 0;
  bool operator==(const KeyFileIdentity&) const = default;
};

// An advisory lock (flock) on vault.key, held for as long as this object lives.
//
// Why: a wipe shreds the key, then the store file by file, while a `sync --watch` may be
// reopening that store. RocksDB's open makes the directory and a LOCK file before it
// finds there is no store, leaving files the wipe then cannot remove. Checking the key
// before the open leaves a window between the check and the open; the lock closes it. A
// wipe holds it exclusively until the key is unlinked, a reopen holds it shared from its
// check of the key to the end of the store's open, so a reopen either ends before the
// wipe begins or starts after the key is gone and refuses. Both hold it for
// milliseconds, so blocking is fine.
class KeyFileLock {
 public:
  // kNotFound when `path` does not exist; kInternal when it cannot be opened or locked.
  static absl::StatusOr<KeyFileLock> Exclusive(const std::string& path);
  static absl::StatusOr<KeyFileLock> Shared(const std::string& path);

  KeyFileLock(KeyFileLock&& other) noexcept;
  KeyFileLock& operator=(KeyFileLock&&) = delete;
  KeyFileLock(const KeyFileLock&) = delete;
  ~KeyFileLock();

  // The locked file, and whether it is still in the directory (a wipe that held the lock
  // before us has unlinked it).
  KeyFileIdentity identity() const;
  bool unlinked() const;

 private:
  explicit KeyFileLock(int fd) : fd_(fd) {}
  static absl::StatusOr<KeyFileLock> Take(const std::string& path, int operation);

  int fd_;
};

// The identity of the file at `path` now; empty when it cannot be read.
KeyFileIdentity IdentityOfKeyFile(const std::string& path);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_VAULT_KEY_FILE_LOCK_H_
