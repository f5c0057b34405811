#include "client/vault/key_file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>

#include "absl/status/status.h"

namespace temoin::client {

namespace {

// `path` relative to `dir`, or `dir` itself when `path` is empty.
KeyFileIdentity IdentityAt(int dir, const char* path) {
  struct statx st {};
  const int flags = (*path == '\0' ? AT_EMPTY_PATH : 0) | AT_SYMLINK_NOFOLLOW;
  if (::statx(dir, path, flags, STATX_INO | STATX_BTIME, &st) != 0) return {};
  KeyFileIdentity identity{makedev(st.stx_dev_major, st.stx_dev_minor), st.stx_ino, 0, 0};
  if (st.stx_mask & STATX_BTIME) {
    identity.born_seconds = st.stx_btime.tv_sec;
    identity.born_nanoseconds = st.stx_btime.tv_nsec;
  }
  return identity;
}

}  // namespace

absl::StatusOr<KeyFileLock> KeyFileLock::Exclusive(const std::string& path) {
  return Take(path, LOCK_EX);
}

absl::StatusOr<KeyFileLock> KeyFileLock::Shared(const std::string& path) {
  return Take(path, LOCK_SH);
}

absl::StatusOr<KeyFileLock> KeyFileLock::Take(const std::string& path, int operation) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return absl::NotFoundError("the vault key file is gone");
  if (fd < 0) return absl::InternalError("cannot open the vault key file");
  int rc;
  do {
    rc = ::flock(fd, operation);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    ::close(fd);
    return absl::InternalError("cannot lock the vault key file");
  }
  return KeyFileLock(fd);
}

KeyFileLock::KeyFileLock(KeyFileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

KeyFileLock::~KeyFileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

KeyFileIdentity KeyFileLock::identity() const { return IdentityAt(fd_, ""); }

bool KeyFileLock::unlinked() const {
  struct stat st {};
  return ::fstat(fd_, &st) != 0 || st.st_nlink == 0;
}

KeyFileIdentity IdentityOfKeyFile(const std::string& path) {
  return IdentityAt(AT_FDCWD, path.c_str());
}

}  // namespace temoin::client
