#include "client/sync/upload_window.h"

#include <algorithm>

namespace temoin::client {

UploadWindow::UploadWindow(const Limits& limits)
    : limits_(limits),
      sizer_(limits.initial_batch_bytes, limits.max_batch_bytes, limits.least_batches) {}

bool UploadWindow::Open() const {
  const size_t limit = std::min(limits_.max_window_bytes, sizer_.window_bytes());
  return unanswered_.empty() || (static_cast<int>(unanswered_.size()) < limits_.max_batches &&
                                 unanswered_bytes_ + sizer_.batch_bytes() <= limit);
}

std::optional<size_t> UploadWindow::NextBatchBytes() {
  std::unique_lock lock(mu_);
  changed_.wait(lock, [&] { return closed_ || Open(); });
  if (closed_) return std::nullopt;
  return sizer_.batch_bytes();
}

void UploadWindow::Sent(uint64_t batch_id, size_t bytes) {
  std::lock_guard lock(mu_);
  unanswered_[batch_id] = {bytes, BatchSizer::Clock::now()};
  unanswered_bytes_ += bytes;
}

void UploadWindow::Answered(uint64_t batch_id) {
  {
    std::lock_guard lock(mu_);
    auto it = unanswered_.find(batch_id);
    if (it == unanswered_.end()) return;
    unanswered_bytes_ -= it->second.bytes;
    sizer_.OnAnswer(it->second.bytes, it->second.at, BatchSizer::Clock::now());
    unanswered_.erase(it);
  }
  changed_.notify_all();
}

void UploadWindow::Close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  changed_.notify_all();
}

}  // namespace temoin::client
