#include "client/sync/batch_sizer.h"

#include <algorithm>

namespace temoin::client {

BatchSizer::BatchSizer(size_t initial_bytes, size_t max_bytes)
    : initial_bytes_(std::min(initial_bytes, max_bytes)),
      max_bytes_(max_bytes),
      batch_bytes_(initial_bytes_) {}

void BatchSizer::OnAnswer(std::chrono::steady_clock::duration delay) {
  fastest_ = std::min(fastest_, delay);
  if (delay <= std::max<std::chrono::steady_clock::duration>(2 * fastest_, kFastAnswer)) {
    batch_bytes_ = std::min(batch_bytes_ * 2, max_bytes_);
  } else if (delay > 4 * fastest_) {
    batch_bytes_ = std::max(batch_bytes_ / 2, initial_bytes_);
  }
}

}  // namespace temoin::client
