#include "client/vault/store_changes.h"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/memory/memory.h"
#include "absl/strings/str_cat.h"

namespace temoin::client {

absl::StatusOr<std::unique_ptr<StoreChanges>> StoreChanges::Watch(const std::string& home) {
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return absl::InternalError(absl::StrCat("inotify: ", std::strerror(errno)));
  auto changes = absl::WrapUnique(new StoreChanges(fd));
  // What a writer does to a RocksDB store: appends to the WAL, writes and renames
  // MANIFEST, CURRENT and table files, takes and drops LOCK.
  const uint32_t mask = IN_MODIFY | IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_CLOSE_WRITE;
  const std::string store = home + "/store";
  if (inotify_add_watch(fd, store.c_str(), mask) < 0) {
    if (errno == ENOENT) return absl::FailedPreconditionError("no vault store to watch");
    return absl::InternalError(absl::StrCat("inotify on the vault store: ", std::strerror(errno)));
  }
  return changes;
}

StoreChanges::~StoreChanges() { close(fd_); }

void StoreChanges::Discard() {
  alignas(struct inotify_event) char buffer[4096];
  while (read(fd_, buffer, sizeof buffer) > 0) {
  }
}

StoreChanges::Wake StoreChanges::WaitFor(std::chrono::milliseconds timeout, int stop_fd) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return Wake::kTimedOut;
    pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_fd, POLLIN, 0}};
    int ready = poll(fds, stop_fd >= 0 ? 2 : 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return Wake::kStopped;  // cannot wait: end rather than spin
    if (stop_fd >= 0 && (fds[1].revents & (POLLIN | POLLHUP)) != 0) return Wake::kStopped;
    if ((fds[0].revents & POLLIN) != 0) {
      Discard();
      return Wake::kChanged;
    }
  }
}

}  // namespace temoin::client
