#include "server/app/memory_trimmer.h"

#include <malloc.h>

namespace temoin::server {

void MemoryTrimmer::LimitArenas() { mallopt(M_ARENA_MAX, 2); }

MemoryTrimmer::MemoryTrimmer(std::chrono::milliseconds period) {
  thread_ = std::thread([this, period] {
    std::unique_lock lock(mu_);
    while (!stop_cv_.wait_for(lock, period, [this] { return stopping_; })) {
      lock.unlock();
      malloc_trim(0);
      lock.lock();
    }
  });
}

MemoryTrimmer::~MemoryTrimmer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  thread_.join();
}

}  // namespace temoin::server
