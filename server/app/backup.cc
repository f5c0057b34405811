#include "server/app/backup.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "server/app/open_store.h"
#include "server/log/log.h"
#include "server/storage/rocks_store.h"

namespace temoin::server {
namespace {

namespace fs = std::filesystem;

constexpr char kCheckpointCommand[] = "checkpoint ";
constexpr size_t kMaxRequestBytes = 4096;
// What makes a data directory this server, besides its store (server/app/data_dir.h).
constexpr const char* kServerFiles[] = {"config.json", "vocabulary.json", "server.toml", "keys",
                                        "tls"};

bool IsEmptyOrMissing(const std::string& path) {
  std::error_code error;
  if (!fs::exists(path, error)) return true;
  return fs::is_directory(path, error) && fs::is_empty(path, error);
}

std::string SocketPath(const std::string& root) {
  return absl::StrCat(root, "/", kControlSocketFile);
}

absl::Status ErrnoError(absl::string_view what) {
  return absl::InternalError(absl::StrCat(what, ": ", std::strerror(errno)));
}

absl::StatusOr<sockaddr_un> SocketAddress(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(
        absl::StrCat("the data directory's path is too long for a control socket: ", path));
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

// Sends everything, then reads the peer's whole answer (it closes after answering).
absl::StatusOr<std::string> Exchange(int fd, const std::string& request) {
  size_t sent = 0;
  while (sent < request.size()) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("cannot talk to the running server");
    sent += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string answer;
  char buffer[512];
  while (answer.size() < kMaxRequestBytes) {
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("no answer from the running server");
    if (n == 0) break;
    answer.append(buffer, static_cast<size_t>(n));
  }
  return answer;
}

// The running server takes the checkpoint: it holds RocksDB's lock, and only it can
// stop its own compactions from deleting the files being copied.
absl::Status AskRunningServer(const std::string& root, const std::string& checkpoint_dir) {
  TEMOIN_ASSIGN_OR_RETURN(sockaddr_un address, SocketAddress(SocketPath(root)));
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoError("cannot make a socket");
  absl::StatusOr<std::string> answer;
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    answer = absl::FailedPreconditionError(
        absl::StrCat("the store is held by another process, and no temoin-server run answers on ",
                     SocketPath(root), " (a server from before backups existed? restart it)"));
  } else {
    answer = Exchange(fd, absl::StrCat(kCheckpointCommand, checkpoint_dir, "\n"));
  }
  ::close(fd);
  TEMOIN_RETURN_IF_ERROR(answer.status());
  absl::string_view line = absl::StripTrailingAsciiWhitespace(*answer);
  if (line == "ok") return absl::OkStatus();
  if (absl::ConsumePrefix(&line, "error ")) {
    return absl::InternalError(absl::StrCat("the running server could not copy its store: ", line));
  }
  return absl::InternalError("the running server gave no answer to the backup request");
}

absl::StatusOr<BackupReport> CountStore(const std::string& db_path) {
  TEMOIN_ASSIGN_OR_RETURN(std::unique_ptr<RocksStore> store, RocksStore::Open(db_path));
  BackupReport report;
  TEMOIN_ASSIGN_OR_RETURN(report.log_size, store->LogSize());
  TEMOIN_RETURN_IF_ERROR(store->Scan("rec/", "", [&](absl::string_view, absl::string_view) {
    ++report.records;
    return true;
  }));
  TEMOIN_RETURN_IF_ERROR(store->Scan("blob/", "", [&](absl::string_view, absl::string_view) {
    ++report.blobs;
    return true;
  }));
  return report;
}

absl::Status CopyServerFiles(const std::string& from, const std::string& to) {
  for (const char* name : kServerFiles) {
    const std::string source = absl::StrCat(from, "/", name);
    const std::string target = absl::StrCat(to, "/", name);
    std::error_code error;
    const fs::file_status status = fs::symlink_status(source, error);
    if (!fs::exists(status)) continue;  // server.toml is optional
    if (fs::is_directory(status)) {
      TEMOIN_RETURN_IF_ERROR(CopyTreeDurably(source, target));
    } else {
      fs::copy_file(source, target, error);
      if (error)
        return absl::InternalError(absl::StrCat("cannot copy ", source, ": ", error.message()));
      TEMOIN_RETURN_IF_ERROR(SyncTree(target));
    }
  }
  return absl::OkStatus();
}

std::string UtcStamp() {
  return absl::FormatTime("%Y%m%dT%H%M%SZ", absl::Now(), absl::UTCTimeZone());
}

absl::Status MoveAside(const std::string& path, const std::string& stamp) {
  const std::string aside = absl::StrCat(path, ".before-restore-", stamp);
  std::error_code error;
  fs::rename(path, aside, error);
  if (error)
    return absl::InternalError(absl::StrCat("cannot move ", path, " aside: ", error.message()));
  return absl::OkStatus();
}

bool SameFile(const std::string& a, const std::string& b) {
  absl::StatusOr<std::string> x = ReadFileToString(a, 16 << 20);
  absl::StatusOr<std::string> y = ReadFileToString(b, 16 << 20);
  return x.ok() && y.ok() && *x == *y;
}

// Every regular file of `from`'s server files into `root`; a file of `root` that differs
// is moved aside first, so restoring over the wrong directory loses none of its keys.
absl::Status RestoreServerFiles(const std::string& from, const std::string& root,
                                const std::string& stamp) {
  for (const char* name : kServerFiles) {
    const fs::path top = fs::path(from) / name;
    std::error_code error;
    if (!fs::exists(fs::symlink_status(top, error))) continue;
    std::vector<fs::path> files;
    if (fs::is_directory(top)) {
      for (fs::recursive_directory_iterator it(top, error), end; !error && it != end;
           it.increment(error)) {
        if (it->is_regular_file()) files.push_back(it->path());
      }
      if (error) return absl::InternalError(absl::StrCat("cannot list ", top.string()));
    } else {
      files.push_back(top);
    }
    for (const fs::path& file : files) {
      const fs::path target = fs::path(root) / fs::relative(file, from);
      if (fs::exists(target)) {
        if (SameFile(file.string(), target.string())) continue;
        TEMOIN_RETURN_IF_ERROR(MoveAside(target.string(), stamp));
      }
      TEMOIN_RETURN_IF_ERROR(MakeDirectories(target.parent_path().string(), 0700));
      fs::copy_file(file, target, error);
      if (error) {
        return absl::InternalError(
            absl::StrCat("cannot copy ", file.string(), ": ", error.message()));
      }
      TEMOIN_RETURN_IF_ERROR(SyncTree(target.string()));
      TEMOIN_RETURN_IF_ERROR(SyncTree(target.parent_path().string()));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<BackupReport> BackupDataDir(const std::string& root, const std::string& out_arg) {
  if (!PathExists(root + "/config.json")) {
    return absl::FailedPreconditionError(
        absl::StrCat(root, " is not a temoin data directory; run temoin-server init first"));
  }
  TEMOIN_ASSIGN_OR_RETURN(std::string conninfo, ReadStoreConninfo(root));
  if (!conninfo.empty()) {
    return absl::FailedPreconditionError(
        "this server's store is in PostgreSQL: back it up with PostgreSQL's tools "
        "(pgBackRest, docs/operations.md); backup copies the embedded store only");
  }
  const std::string out = fs::absolute(out_arg).lexically_normal().string();
  if (!IsEmptyOrMissing(out)) {
    return absl::AlreadyExistsError(
        absl::StrCat(out, " exists and is not empty; give a new or empty directory"));
  }
  TEMOIN_RETURN_IF_ERROR(MakeDirectories(out, 0700));
  BackupReport report;
  {
    absl::StatusOr<std::unique_ptr<RocksStore>> store = RocksStore::Open(root + "/db");
    if (store.ok()) {
      TEMOIN_RETURN_IF_ERROR((*store)->Checkpoint(out + "/db"));
    } else if (absl::IsUnavailable(store.status())) {
      TEMOIN_RETURN_IF_ERROR(AskRunningServer(root, out + "/db"));
      report.from_running_server = true;
    } else {
      return store.status();
    }
  }
  TEMOIN_RETURN_IF_ERROR(CopyServerFiles(root, out));
  // Opening the copy proves it is a store, and says what it holds.
  TEMOIN_ASSIGN_OR_RETURN(BackupReport counted, CountStore(out + "/db"));
  counted.from_running_server = report.from_running_server;
  TEMOIN_RETURN_IF_ERROR(SyncTree(out));
  TEMOIN_RETURN_IF_ERROR(WriteFileDurably(
      absl::StrCat(out, "/", kBackupMarkerFile),
      absl::StrCat("temoin-server backup\ncreated ", UtcStamp(), "\nlog_size ", counted.log_size,
                   "\nrecords ", counted.records, "\nattachments ", counted.blobs, "\n"),
      0600));
  return counted;
}

absl::StatusOr<BackupReport> RestoreDataDir(const std::string& from, const std::string& root,
                                            bool force) {
  if (!PathExists(absl::StrCat(from, "/", kBackupMarkerFile)) ||
      !PathExists(from + "/config.json") || !PathExists(from + "/db")) {
    return absl::FailedPreconditionError(absl::StrCat(
        from, " is not a finished temoin-server backup (no ", kBackupMarkerFile, " file)"));
  }
  TEMOIN_ASSIGN_OR_RETURN(std::string conninfo, ReadStoreConninfo(root));
  if (!conninfo.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat(root, " uses a PostgreSQL store; restore it with PostgreSQL's tools"));
  }
  const std::string db = root + "/db";
  const std::string stamp = UtcStamp();
  if (!IsEmptyOrMissing(db)) {
    uint64_t keys = 0;
    {
      absl::StatusOr<std::unique_ptr<RocksStore>> current = RocksStore::Open(db);
      if (absl::IsUnavailable(current.status())) {
        return absl::FailedPreconditionError(
            "the store is in use (is temoin-server run still running on this data "
            "directory?); stop it first");
      }
      if (current.ok()) {
        TEMOIN_RETURN_IF_ERROR((*current)->Scan("", "", [&](absl::string_view, absl::string_view) {
          ++keys;
          return false;
        }));
      } else if (!force) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the store in ", db, " cannot be opened (", current.status().message(),
            "); add --force to restore anyway (it is kept as db.before-restore-", stamp, ")"));
      }
    }
    if (keys > 0 && !force) {
      return absl::FailedPreconditionError(
          absl::StrCat(root,
                       " already holds a store that is not empty; add --force to replace it (the "
                       "current one is kept as db.before-restore-<time>, not deleted)"));
    }
    TEMOIN_RETURN_IF_ERROR(MoveAside(db, stamp));
  } else if (PathExists(db)) {
    std::error_code error;
    fs::remove(db, error);  // an empty directory
  }
  TEMOIN_RETURN_IF_ERROR(MakeDirectories(root, 0700));
  TEMOIN_RETURN_IF_ERROR(RestoreServerFiles(from, root, stamp));
  TEMOIN_RETURN_IF_ERROR(CopyTreeDurably(from + "/db", db));
  TEMOIN_RETURN_IF_ERROR(SyncTree(root));
  return CountStore(db);
}

absl::StatusOr<std::unique_ptr<BackupListener>> BackupListener::Start(const std::string& root,
                                                                      RocksStore* store) {
  const std::string path = SocketPath(root);
  TEMOIN_ASSIGN_OR_RETURN(sockaddr_un address, SocketAddress(path));
  // A socket left by a server that was killed; RocksDB's lock says none runs now.
  ::unlink(path.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoError("cannot make the control socket");
  const mode_t old_mask = ::umask(0077);  // 0600 from the start, not chmod'ed after
  const int bound = ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
  ::umask(old_mask);
  if (bound != 0 || ::listen(fd, 4) != 0) {
    absl::Status status = ErrnoError(absl::StrCat("cannot listen on ", path));
    ::close(fd);
    return status;
  }
  const int wake_fd = ::eventfd(0, EFD_CLOEXEC);
  if (wake_fd < 0) {
    ::close(fd);
    return ErrnoError("eventfd");
  }
  auto listener = std::unique_ptr<BackupListener>(new BackupListener(path, fd, wake_fd, store));
  listener->thread_ = std::thread([raw = listener.get()] { raw->Serve(); });
  return listener;
}

BackupListener::BackupListener(std::string path, int fd, int wake_fd, RocksStore* store)
    : path_(std::move(path)), fd_(fd), wake_fd_(wake_fd), store_(store) {}

BackupListener::~BackupListener() {
  const uint64_t one = 1;
  if (::write(wake_fd_, &one, sizeof one) < 0) {
    // The thread would never wake; nothing sensible to do but detach it.
  }
  if (thread_.joinable()) thread_.join();
  ::close(fd_);
  ::close(wake_fd_);
  ::unlink(path_.c_str());
}

void BackupListener::Serve() {
  while (true) {
    pollfd fds[2] = {{.fd = fd_, .events = POLLIN, .revents = 0},
                     {.fd = wake_fd_, .events = POLLIN, .revents = 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0) return;
    if (fds[0].revents == 0) continue;
    const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    Answer(client);
    ::close(client);
  }
}

void BackupListener::Answer(int client) {
  // A client that sends nothing cannot hold the listener for long.
  timeval timeout{.tv_sec = 5, .tv_usec = 0};
  ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  // The socket is 0600 in a 0700 directory; the peer's uid is checked too, in case
  // either was loosened.
  ucred peer{};
  socklen_t peer_size = sizeof peer;
  std::string answer;
  if (::getsockopt(client, SOL_SOCKET, SO_PEERCRED, &peer, &peer_size) != 0 ||
      (peer.uid != ::geteuid() && peer.uid != 0)) {
    answer = "error permission denied\n";
  } else {
    std::string request;
    char buffer[512];
    while (request.size() < kMaxRequestBytes && !absl::StrContains(request, '\n')) {
      ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      request.append(buffer, static_cast<size_t>(n));
    }
    absl::string_view line = absl::StripTrailingAsciiWhitespace(request);
    if (!absl::ConsumePrefix(&line, kCheckpointCommand) || line.empty() || line[0] != '/' ||
        absl::StrContains(line, '\n')) {
      answer = "error unknown request\n";
    } else {
      absl::Status done = store_->Checkpoint(std::string(line));
      log::Info("backup_checkpoint", {{"ok", done.ok() ? "yes" : "no"}});
      answer = done.ok() ? "ok\n" : absl::StrCat("error ", done.message(), "\n");
    }
  }
  ::send(client, answer.data(), answer.size(), MSG_NOSIGNAL);
}

}  // namespace temoin::server
