#include "client/vault/vault_wipe.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/vault/key_file_lock.h"
#include "common/file_util.h"

namespace temoin::client {
namespace {

absl::Status Failed(absl::string_view step) {
  return absl::InternalError(absl::StrCat("vault wipe failed at ", step));
}

absl::Status FsyncDirectory(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Failed("open for fsync");
  int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? absl::OkStatus() : Failed("fsync");
}

// Everything under `home`, files before the directories that hold them, deepest
// directories first. Symbolic links are listed, never followed.
void ListTree(const std::string& home, std::vector<std::filesystem::path>* files,
              std::vector<std::filesystem::path>* directories) {
  std::error_code error;
  std::filesystem::recursive_directory_iterator it(home, error), end;
  for (; !error && it != end; it.increment(error)) {
    std::error_code kind_error;
    if (it->is_directory(kind_error) && !it->is_symlink(kind_error)) {
      directories->push_back(it->path());
    } else {
      files->push_back(it->path());
    }
  }
  // A deeper path is longer than the path of any directory holding it.
  std::sort(directories->begin(), directories->end(),
            [](const auto& a, const auto& b) { return a.native().size() > b.native().size(); });
}

// Overwrites and unlinks every file under `home` but leaves `home`. Goes on past
// failures; returns the first.
absl::Status ShredTree(const std::string& home) {
  std::vector<std::filesystem::path> files, directories;
  ListTree(home, &files, &directories);
  absl::Status first = absl::OkStatus();
  for (const std::filesystem::path& file : files) {
    if (ShredFile(file.string()).ok()) continue;
    // Not overwritable (another hard link, no permission): still unlinked, the key is
    // gone already.
    std::error_code error;
    std::filesystem::remove(file, error);
    if (first.ok()) first = Failed("overwrite a vault file");
  }
  for (const std::filesystem::path& dir : directories) {
    std::error_code error;
    std::filesystem::remove(dir, error);
    if (error && first.ok()) first = Failed("remove a vault directory");
  }
  if (absl::Status synced = FsyncDirectory(home); !synced.ok() && first.ok()) first = synced;
  return first;
}

}  // namespace

absl::Status WipeVault(const std::string& home) {
  // Held until the key is unlinked: a watch's reopen of the store waits for it, then
  // finds no key (key_file_lock.h). A key that cannot be locked is shredded all the same.
  absl::StatusOr<KeyFileLock> excluding = KeyFileLock::Exclusive(home + "/vault.key");
  if (!ShredFile(home + "/vault.key").ok()) {
    // Without its overwrite the key could survive in freed blocks; still unlink it and
    // destroy the rest, then report.
    std::error_code error;
    std::filesystem::remove(home + "/vault.key", error);
    absl::Status rest = ShredTree(home);
    rest.IgnoreError();  // the key's failure is the one to report
    return Failed("overwrite key file");
  }
  return ShredTree(home);  // ShredFile has fsynced the directory: the key is gone for good
}

}  // namespace temoin::client
