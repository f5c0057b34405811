#include "client/cli/stop_signals.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <iostream>

namespace temoin::client::cli {
namespace {

sigset_t StopSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

StopSignals::StopSignals() {
  sigset_t set = StopSet();
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal_fd_ = signalfd(-1, &set, SFD_CLOEXEC);
  if (pipe2(stop_, O_CLOEXEC) != 0 || pipe2(quit_, O_CLOEXEC) != 0 || signal_fd_ < 0) {
    // Without them, fall back to what any command does: the signals end the process.
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
    return;
  }
  listener_ = std::thread([this] { Listen(); });
}

StopSignals::~StopSignals() {
  if (listener_.joinable()) {
    (void)!write(quit_[1], "q", 1);
    listener_.join();
  }
  for (int fd : {signal_fd_, stop_[0], stop_[1], quit_[0], quit_[1]}) {
    if (fd >= 0) close(fd);
  }
  sigset_t set = StopSet();
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
}

void StopSignals::Listen() {
  for (;;) {
    pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {quit_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) continue;
    if ((fds[1].revents & POLLIN) != 0) return;
    signalfd_siginfo info;
    if (read(signal_fd_, &info, sizeof info) != sizeof info) continue;
    if (waiting_) {
      (void)!write(stop_[1], "s", 1);
      continue;
    }
    // In the middle of a sync: end as the signal would have ended any sync. What the
    // server acknowledged is in the vault; the rest goes at the next sync.
    std::cerr << (watched_ ? "\nsync: stopped (what the server acknowledged is kept)\n"
                           : "\nsync: stopped\n");
    _exit(128 + static_cast<int>(info.ssi_signo));
  }
}

}  // namespace temoin::client::cli
