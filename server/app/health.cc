#include "server/app/health.h"

#include <optional>

namespace temoin::server {

absl::Status ProbeStoreWritable(Store& store) {
  WriteBatch probe;
  probe.Delete(kHealthProbeKey);
  return store.Commit(probe);
}

HealthReporter::HealthReporter(Store* store, std::function<void(bool serving)> set_serving,
                               std::chrono::milliseconds period)
    : store_(store), set_serving_(std::move(set_serving)) {
  thread_ = std::thread([this, period] { ProbeLoop(period); });
}

void HealthReporter::ProbeLoop(std::chrono::milliseconds period) {
  std::optional<bool> reported;
  std::unique_lock lock(mu_);
  do {
    lock.unlock();
    // A full disk or a store that cannot reopen is not serving: a load balancer should
    // send devices elsewhere, and an operator's probe should see it.
    const bool writable = ProbeStoreWritable(*store_).ok();
    lock.lock();
    if (stopping_) break;  // Stop() reports false; a late true must not follow it
    if (reported != writable) {
      set_serving_(writable);
      reported = writable;
    }
  } while (!stop_cv_.wait_for(lock, period, [this] { return stopping_; }));
}

void HealthReporter::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopped_) return;
    stopping_ = true;
    stopped_ = true;
    // Under the lock: the probing thread reports only while holding it and not stopping.
    set_serving_(false);
  }
  stop_cv_.notify_all();
  thread_.join();
}

}  // namespace temoin::server
