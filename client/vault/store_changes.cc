#include "client/vault/store_changes.h"

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
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
  const uint32_t mask = IN_MODIFY | IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_CLOSE_WRITE |
                        IN_DELETE_SELF | IN_MOVE_SELF;
  const std::string store = home + "/store";
  if (inotify_add_watch(fd, store.c_str(), mask) < 0) {
    if (errno == ENOENT) return absl::FailedPreconditionError("no vault store to watch");
    return absl::InternalError(absl::StrCat("inotify on the vault store: ", std::strerror(errno)));
  }
  return changes;
}

StoreChanges::~StoreChanges() { close(fd_); }

namespace {

// Reads every pending event; true when one says the store directory itself went.
bool DrainEvents(int fd) {
  alignas(struct inotify_event) char buffer[4096];
  bool gone = false;
  ssize_t n = 0;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) {
    for (ssize_t at = 0; at + static_cast<ssize_t>(sizeof(inotify_event)) <= n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + at);
      gone = gone || (event->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) != 0;
      at += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
    }
  }
  return gone;
}

}  // namespace

void StoreChanges::Discard() { gone_ = DrainEvents(fd_) || gone_; }

StoreChanges::Wake StoreChanges::WaitFor(std::chrono::milliseconds timeout, int stop_fd) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (gone_) return Wake::kGone;
    if (left.count() <= 0) return Wake::kTimedOut;
    // poll's timeout is an int of milliseconds: wait a day at most at a time.
    const int poll_ms = static_cast<int>(std::min<int64_t>(left.count(), 24 * 3600 * 1000));
    pollfd fds[2] = {{fd_, POLLIN, 0}, {stop_fd, POLLIN, 0}};
    int ready = poll(fds, stop_fd >= 0 ? 2 : 1, poll_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return Wake::kFailed;
    if (stop_fd >= 0 && (fds[1].revents & (POLLIN | POLLHUP)) != 0) return Wake::kStopped;
    if ((fds[0].revents & POLLIN) != 0) {
      Discard();
      return gone_ ? Wake::kGone : Wake::kChanged;
    }
  }
}

}  // namespace temoin::client
