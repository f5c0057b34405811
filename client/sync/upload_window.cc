#include "client/sync/upload_window.h"

#include <algorithm>

namespace temoin::client {

UploadWindow::UploadWindow(const Limits& limits)
    : limits_(limits),
      sizer_(limits.initial_batch_bytes, limits.max_batch_bytes, limits.least_batches) {}

bool UploadWindow::Open() const {
  const int count = static_cast<int>(unanswered_.size());
  if (count == 0) return true;
  if (count >= limits_.max_batches) return false;
  const size_t next = unanswered_bytes_ + sizer_.batch_bytes();
  if (next > limits_.max_window_bytes) return false;
  // The sizer's fewest batches go whatever their bytes: a batch over its target (one
  // large record) must not leave the link idle for a round trip.
  return count < sizer_.least_batches() || next <= sizer_.window_bytes();
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
