#include "client/vault/vault_wipe.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/vault/key_file_lock.h"
#include "common/file_util.h"

namespace temoin::client {
namespace {

// How long a wipe waits for an open of the store under way before it shreds regardless:
// milliseconds usually, seconds when RocksDB replays its log on a slow card; an opener
// stopped mid-open (Ctrl-Z, a frozen app) must not hold a duress or panic wipe for longer.
constexpr std::chrono::seconds kOpenersPatience{10};

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

// Overwrites and unlinks the key under its exclusive lock, which openers of the store
// respect (key_file_lock.h), and lets go at once. Without its overwrite the key could
// survive in freed blocks: it is still unlinked, and the rest destroyed.
absl::Status ShredKey(const std::string& key) {
  absl::StatusOr<KeyFileLock> excluding = KeyFileLock::Exclusive(key, kOpenersPatience);
  if (ShredFile(key).ok()) return absl::OkStatus();  // fsyncs the directory: gone for good
  std::error_code error;
  std::filesystem::remove(key, error);
  return Failed("overwrite key file");
}

}  // namespace

absl::Status WipeVault(const std::string& home) {
  absl::Status key = ShredKey(home + "/vault.key");
  absl::Status rest = ShredTree(home);
  return key.ok() ? rest : key;  // a key that may survive is the failure to report
}

}  // namespace temoin::client
