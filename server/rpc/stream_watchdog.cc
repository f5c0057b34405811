#include "server/rpc/stream_watchdog.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace temoin::server {
namespace {

int64_t Ns(StreamWatchdog::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

int64_t Seconds(StreamWatchdog::Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::seconds>(d).count();
}

}  // namespace

StreamWatchdog::StreamWatchdog(std::chrono::seconds first_message, std::chrono::seconds idle)
    : first_message_(first_message), idle_(idle) {}

StreamWatchdog::~StreamWatchdog() {
  {
    std::lock_guard lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
}

std::shared_ptr<StreamWatchdog::Watch> StreamWatchdog::Add(std::function<void(absl::Status)> expire,
                                                           Clock::time_point now,
                                                           bool awaiting_first_message) {
  auto watch = std::make_shared<Watch>();
  watch->expire = std::move(expire);
  watch->first_message = awaiting_first_message;
  watch->deadline_ns = Ns(now + (awaiting_first_message ? first_message_ : idle_));
  std::lock_guard lock(mu_);
  watch->position = watches_.insert(watches_.end(), watch);
  return watch;
}

void StreamWatchdog::Touch(Watch& watch, Clock::time_point now) {
  watch.first_message = false;
  watch.deadline_ns = Ns(now + idle_);
}

void StreamWatchdog::Remove(const std::shared_ptr<Watch>& watch) {
  {
    std::lock_guard expiring(watch->mu);
    if (!watch->alive) return;
    watch->alive = false;
    watch->expire = nullptr;
  }
  std::lock_guard lock(mu_);
  watches_.erase(watch->position);
}

int StreamWatchdog::Tick(Clock::time_point now) {
  std::vector<std::shared_ptr<Watch>> due;
  {
    std::lock_guard lock(mu_);
    for (const std::shared_ptr<Watch>& w : watches_) {
      if (w->deadline_ns.load() < Ns(now)) due.push_back(w);
    }
  }
  int expired = 0;
  for (const std::shared_ptr<Watch>& w : due) {
    std::lock_guard expiring(w->mu);
    if (!w->alive) continue;  // done meanwhile
    // The reactor's own OnDone may run inside expire() and Remove() this watch.
    std::function<void(absl::Status)> expire = std::exchange(w->expire, nullptr);
    absl::Status why = absl::DeadlineExceededError(
        w->first_message ? absl::StrCat("no message within ", Seconds(first_message_),
                                        " s of opening the stream")
                         : absl::StrCat("stream idle for ", Seconds(idle_), " s"));
    if (expire) {
      expire(std::move(why));
      ++expired;
    }
  }
  return expired;
}

size_t StreamWatchdog::size() const {
  std::lock_guard lock(mu_);
  return watches_.size();
}

void StreamWatchdog::StartTicking(std::chrono::milliseconds period) {
  ticker_ = std::thread([this, period] {
    std::unique_lock lock(stop_mu_);
    while (!stop_cv_.wait_for(lock, period, [this] { return stopping_; })) {
      lock.unlock();
      Tick(Clock::now());
      lock.lock();
    }
  });
}

}  // namespace temoin::server
