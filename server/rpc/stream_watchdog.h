#ifndef TEMOIN_SERVER_RPC_STREAM_WATCHDOG_H_
#define TEMOIN_SERVER_RPC_STREAM_WATCHDOG_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/status/status.h"

namespace temoin::server {

// Deadlines of open streams: a stream must deliver its first message within
// `first_message` of opening, and then make progress (a message in or out) at least
// every `idle`. A stream that misses one is expired: its callback is called once with
// DEADLINE_EXCEEDED and says why, and the reactor ends the call. The defaults are sized
// so that an honest device on a 10 kbit/s link never hits them (see ServerLimits).
//
// Expiry and removal are safe against each other: a reactor that is done removes its
// watch, after which its callback is never called, and a callback that is running
// holds the watch's lock, so removal (from OnDone, possibly called inside the callback
// on the same thread) waits for it or nests within it. Thread-safe.
class StreamWatchdog {
 public:
  using Clock = std::chrono::steady_clock;
  struct Watch;

  StreamWatchdog(std::chrono::seconds first_message, std::chrono::seconds idle);
  ~StreamWatchdog();  // stops the ticking thread, if started

  // A new watch whose first deadline is first_message from `now`. `expire` is called at
  // most once, from Tick()'s thread.
  std::shared_ptr<Watch> Add(std::function<void(absl::Status)> expire, Clock::time_point now,
                             bool awaiting_first_message = true);
  // The stream made progress at `now`: its next deadline is idle from then.
  void Touch(Watch& watch, Clock::time_point now);
  // The stream is done: its callback will not be called from now on.
  void Remove(const std::shared_ptr<Watch>& watch);

  // Expires every watch whose deadline is before `now`; returns how many.
  int Tick(Clock::time_point now);
  size_t size() const;

  // Ticks every `period` on a thread of its own until destruction.
  void StartTicking(std::chrono::milliseconds period);

 private:
  const Clock::duration first_message_;
  const Clock::duration idle_;
  mutable std::mutex mu_;
  std::list<std::shared_ptr<Watch>> watches_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread ticker_;
};

struct StreamWatchdog::Watch {
  std::recursive_mutex mu;  // held while expiring; see the class comment
  bool alive = true;
  std::atomic<bool> first_message{true};
  std::atomic<int64_t> deadline_ns{0};
  std::function<void(absl::Status)> expire;
  std::list<std::shared_ptr<Watch>>::iterator position;
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_RPC_STREAM_WATCHDOG_H_
