#include "client/vault/vault_wipe.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "crypto/keys.h"

namespace temoin::client {
namespace {

absl::Status Failed(absl::string_view step) {
  return absl::InternalError(absl::StrCat("vault wipe failed at ", step));
}

absl::Status FsyncPath(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Failed("open for fsync");
  int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? absl::OkStatus() : Failed("fsync");
}

// Overwrites the key file in place with random bytes of the same size. Flash may keep
// old blocks; the design's answer is that the key file is small and sealed under the
// passphrase, so this only raises the bar further.
absl::Status ShredKeyFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return absl::OkStatus();  // already gone
  int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return Failed("open key file");
  std::string noise = crypto::RandomBytes(static_cast<size_t>(std::max<off_t>(st.st_size, 64)));
  ssize_t written = ::pwrite(fd, noise.data(), noise.size(), 0);
  int synced = ::fsync(fd);
  ::close(fd);
  if (written != static_cast<ssize_t>(noise.size()) || synced != 0) {
    return Failed("overwrite key file");
  }
  if (::unlink(path.c_str()) != 0) return Failed("unlink key file");
  return absl::OkStatus();
}

}  // namespace

absl::Status ShredFile(const std::string& path) { return ShredKeyFile(path); }

absl::Status WipeVault(const std::string& home) {
  if (absl::Status s = ShredKeyFile(home + "/vault.key"); !s.ok()) return s;
  if (absl::Status s = FsyncPath(home, O_RDONLY | O_DIRECTORY); !s.ok()) return s;
  std::error_code error;
  std::filesystem::remove_all(home + "/store", error);
  if (error) return Failed("remove store");
  return FsyncPath(home, O_RDONLY | O_DIRECTORY);
}

}  // namespace temoin::client
