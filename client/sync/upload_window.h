#ifndef TEMOIN_CLIENT_SYNC_UPLOAD_WINDOW_H_
#define TEMOIN_CLIENT_SYNC_UPLOAD_WINDOW_H_

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>

#include "client/sync/batch_sizer.h"

namespace temoin::client {

// The batches of one Upload stream that are sent and not yet answered, shared by the
// stream's writer thread and its reader. The writer asks how big its next batch may be
// and waits while the window is full; the reader hands back each answer, which times
// the batch for BatchSizer and opens the window again. Thread-safe.
class UploadWindow {
 public:
  struct Limits {
    size_t initial_batch_bytes;
    size_t max_batch_bytes;
    int max_batches;          // unanswered at once
    size_t max_window_bytes;  // unanswered at once, whatever the sizer asks
    int least_batches = 3;    // the window's floor in batches (BatchSizer)
  };

  explicit UploadWindow(const Limits& limits);

  // Blocks until one more batch may go (always at once when none is unanswered), and
  // returns its target size in bytes; nullopt once Close was called.
  std::optional<size_t> NextBatchBytes();

  // The writer handed batch `batch_id` of `bytes` to the stream.
  void Sent(uint64_t batch_id, size_t bytes);

  // The answer to `batch_id` arrived. An id never sent (the sign-in's answer, the
  // closing's) changes nothing.
  void Answered(uint64_t batch_id);

  // The reader is done: the writer's wait ends and it sends nothing more.
  void Close();

 private:
  bool Open() const;  // under mu_

  const Limits limits_;
  std::mutex mu_;
  std::condition_variable changed_;
  struct SentBatch {
    size_t bytes;
    BatchSizer::Clock::time_point at;
  };
  std::map<uint64_t, SentBatch> unanswered_;
  size_t unanswered_bytes_ = 0;
  BatchSizer sizer_;
  bool closed_ = false;
};

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_SYNC_UPLOAD_WINDOW_H_
