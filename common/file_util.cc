#include "common/file_util.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace temoin {
namespace {

absl::Status ErrnoStatus(absl::string_view what, const std::string& path, int err) {
  std::string message = absl::StrCat(what, " ", path, ": ", std::strerror(err));
  if (err == ENOSPC || err == EDQUOT) return absl::ResourceExhaustedError(message);
  if (err == ENOENT) return absl::NotFoundError(message);
  if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(message);
  return absl::InternalError(message);
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

// Writes all of `bytes` at `offset`, retrying short writes and EINTR.
absl::Status PwriteAll(int fd, const std::string& path, uint64_t offset, absl::string_view bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n =
        ::pwrite(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("cannot write", path, errno);
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status FillRandom(std::string& buffer) {
  size_t done = 0;
  while (done < buffer.size()) {
    ssize_t n = ::getrandom(buffer.data() + done, buffer.size() - done, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::InternalError("getrandom failed");
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status SyncDirectoryOf(const std::string& path) {
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  Fd dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() < 0) return ErrnoStatus("cannot open", dir, errno);
  if (::fsync(dir_fd.get()) != 0) return ErrnoStatus("cannot sync", dir, errno);
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteFileDurably(const std::string& path, absl::string_view contents, int mode) {
  std::string tmp = absl::StrCat(path, ".tmp");
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (fd.get() < 0) return ErrnoStatus("cannot create", tmp, errno);
  ::fchmod(fd.get(), static_cast<mode_t>(mode));  // umask must not widen or narrow it
  size_t done = 0;
  while (done < contents.size()) {
    ssize_t n = ::write(fd.get(), contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      return ErrnoStatus("cannot write", tmp, err);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd.get()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return ErrnoStatus("cannot sync", tmp, err);
  }
  if (::close(fd.Release()) != 0) return ErrnoStatus("cannot close", tmp, errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return ErrnoStatus("cannot rename", tmp, errno);
  return SyncDirectoryOf(path);
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path, size_t max_bytes) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus("cannot open", path, errno);
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("cannot read", path, errno);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(path, " is too large"));
    }
  }
  return out;
}

absl::Status MakeDirectories(const std::string& path, int mode) {
  std::error_code ec;
  std::filesystem::path p(path);
  std::filesystem::path built;
  for (const auto& part : p) {
    built /= part;
    if (std::filesystem::exists(built, ec)) continue;
    if (::mkdir(built.c_str(), static_cast<mode_t>(mode)) != 0 && errno != EEXIST) {
      return ErrnoStatus("cannot create directory", built.string(), errno);
    }
  }
  return absl::OkStatus();
}

bool PathExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

absl::Status OverwriteInPlace(const std::string& path) {
  // No O_TRUNC: truncating would free the old blocks unchanged and the noise would go
  // to new ones. O_NOFOLLOW: a link's target is not the file that was named.
  Fd fd(::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ELOOP) {
      return absl::FailedPreconditionError(
          absl::StrCat(path, " is a symbolic link; not overwritten"));
    }
    return ErrnoStatus("cannot open", path, errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return ErrnoStatus("cannot stat", path, errno);
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(path, " is not a regular file"));
  }
  if (st.st_nlink > 1) {
    return absl::FailedPreconditionError(
        absl::StrCat(path, " has other hard links; not overwritten"));
  }
  // Fresh noise for every chunk: a deduplicating layer cannot fold repeated blocks.
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  std::string noise;
  for (uint64_t offset = 0; offset < size;) {
    noise.resize(static_cast<size_t>(std::min<uint64_t>(size - offset, 1 << 20)));
    TEMOIN_RETURN_IF_ERROR(FillRandom(noise));
    TEMOIN_RETURN_IF_ERROR(PwriteAll(fd.get(), path, offset, noise));
    offset += noise.size();
  }
  if (::fsync(fd.get()) != 0) return ErrnoStatus("cannot sync", path, errno);
  return absl::OkStatus();
}

absl::Status ShredFile(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return ErrnoStatus("cannot stat", path, errno);
  }
  if (!S_ISLNK(st.st_mode)) TEMOIN_RETURN_IF_ERROR(OverwriteInPlace(path));
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus("cannot delete", path, errno);
  }
  return SyncDirectoryOf(path);
}

absl::Status WriteInPlaceDurably(const std::string& path, uint64_t offset,
                                 absl::string_view bytes) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_NOFOLLOW | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus("cannot open", path, errno);
  TEMOIN_RETURN_IF_ERROR(PwriteAll(fd.get(), path, offset, bytes));
  // fsync, not fdatasync: the write may have grown the file.
  if (::fsync(fd.get()) != 0) return ErrnoStatus("cannot sync", path, errno);
  return absl::OkStatus();
}

namespace {
absl::Status SyncOne(const std::string& path, bool directory) {
  Fd fd(::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC));
  if (fd.get() < 0) return ErrnoStatus("cannot open", path, errno);
  if (::fsync(fd.get()) != 0) return ErrnoStatus("cannot fsync", path, errno);
  return absl::OkStatus();
}
}  // namespace

absl::Status SyncTree(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code error;
  const fs::file_status top = fs::symlink_status(path, error);
  if (error) return ErrnoStatus("cannot stat", path, error.value());
  if (!fs::is_directory(top)) return SyncOne(path, /*directory=*/false);
  for (fs::recursive_directory_iterator it(path, error), end; !error && it != end;
       it.increment(error)) {
    const fs::file_status status = it->symlink_status(error);
    if (error) break;
    if (fs::is_regular_file(status) || fs::is_directory(status)) {
      TEMOIN_RETURN_IF_ERROR(SyncOne(it->path().string(), fs::is_directory(status)));
    }
  }
  if (error) return ErrnoStatus("cannot list", path, error.value());
  // Children first, then the directory that names them.
  return SyncOne(path, /*directory=*/true);
}

absl::Status CopyTreeDurably(const std::string& from, const std::string& to) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (fs::exists(fs::symlink_status(to, error))) {
    return absl::AlreadyExistsError(absl::StrCat(to, " already exists"));
  }
  if (::mkdir(to.c_str(), 0700) != 0) return ErrnoStatus("cannot create", to, errno);
  for (fs::recursive_directory_iterator it(from, error), end; !error && it != end;
       it.increment(error)) {
    const fs::file_status status = it->symlink_status(error);
    if (error) break;
    const std::string target = (fs::path(to) / fs::relative(it->path(), from)).string();
    if (fs::is_directory(status)) {
      if (::mkdir(target.c_str(), 0700) != 0) return ErrnoStatus("cannot create", target, errno);
    } else if (fs::is_regular_file(status)) {
      fs::copy_file(it->path(), target, error);
      if (error) return ErrnoStatus("cannot copy to", target, error.value());
    } else {
      return absl::FailedPreconditionError(
          absl::StrCat(it->path().string(), " is not a regular file or directory"));
    }
  }
  if (error) return ErrnoStatus("cannot list", from, error.value());
  return SyncTree(to);
}

}  // namespace temoin
