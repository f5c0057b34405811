#include "client/vault/key_file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

#include "absl/status/status.h"

namespace temoin::client {
namespace {

constexpr size_t kMaxKeyFileBytes = 64 << 10;

// Opened for writing by a wiper: NFS emulates flock with byte-range locks, and a write
// lock needs a descriptor open for writing.
absl::StatusOr<int> OpenKeyFile(const std::string& path, int access) {
  int fd = ::open(path.c_str(), access | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) return absl::NotFoundError("the vault key file is gone");
  if (fd < 0) return absl::InternalError("cannot open the vault key file");
  return fd;
}

}  // namespace

absl::StatusOr<KeyFileLock> KeyFileLock::Shared(const std::string& path) {
  absl::StatusOr<int> fd = OpenKeyFile(path, O_RDONLY);
  if (!fd.ok()) return fd.status();
  KeyFileLock lock(*fd);
  int rc;
  do {
    rc = ::flock(*fd, LOCK_SH);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) return absl::InternalError("cannot lock the vault key file");
  return lock;
}

absl::StatusOr<KeyFileLock> KeyFileLock::Exclusive(const std::string& path,
                                                   std::chrono::milliseconds patience) {
  absl::StatusOr<int> fd = OpenKeyFile(path, O_RDWR);
  if (!fd.ok()) return fd.status();
  KeyFileLock lock(*fd);
  const auto give_up = std::chrono::steady_clock::now() + patience;
  for (;;) {
    if (::flock(*fd, LOCK_EX | LOCK_NB) == 0) return lock;
    if (errno != EWOULDBLOCK && errno != EINTR) {
      return absl::InternalError("cannot lock the vault key file");
    }
    if (std::chrono::steady_clock::now() >= give_up) {
      return absl::DeadlineExceededError("the vault key file stayed locked");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

KeyFileLock::KeyFileLock(KeyFileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

KeyFileLock::~KeyFileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the last descriptor releases the flock
}

bool KeyFileLock::unlinked() const {
  struct stat st {};
  return ::fstat(fd_, &st) != 0 || st.st_nlink == 0;
}

absl::StatusOr<std::string> KeyFileLock::Contents() const {
  std::string bytes(kMaxKeyFileBytes + 1, '\0');
  size_t have = 0;
  for (;;) {
    ssize_t n = ::pread(fd_, bytes.data() + have, bytes.size() - have, static_cast<off_t>(have));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::InternalError("cannot read the vault key file");
    if (n == 0 || have + static_cast<size_t>(n) == bytes.size()) {
      have += static_cast<size_t>(n);
      break;
    }
    have += static_cast<size_t>(n);
  }
  if (have > kMaxKeyFileBytes) return absl::InternalError("the vault key file is too large");
  bytes.resize(have);
  return bytes;
}

}  // namespace temoin::client
