#ifndef TEMOIN_CLIENT_SYNC_BATCH_SIZER_H_
#define TEMOIN_CLIENT_SYNC_BATCH_SIZER_H_

#include <chrono>
#include <cstddef>

namespace temoin::client {

// How big the next upload batch should be. A batch is stored only when it arrives
// whole, so whatever is unanswered when a link drops is sent again: on 2G the batches
// must stay small, on a good link they should grow to amortise fsyncs and signatures.
//
// Slow start, steered by delay: each answer that came back about as fast as the
// fastest one seen doubles the batch (up to `max_bytes`); an answer that took more than
// twice as long means data is queueing in front of the link (the modem, the simulator),
// so the size holds; more than four times as long halves it (not below `initial_bytes`).
// Answers under `kFastAnswer` always count as fast: on loopback or a LAN the server's
// own work, not a queue, sets the delay. Not thread-safe.
class BatchSizer {
 public:
  static constexpr std::chrono::milliseconds kFastAnswer{150};

  BatchSizer(size_t initial_bytes, size_t max_bytes);

  size_t batch_bytes() const { return batch_bytes_; }

  // An answer arrived `delay` after its batch was handed to the stream.
  void OnAnswer(std::chrono::steady_clock::duration delay);

 private:
  const size_t initial_bytes_;
  const size_t max_bytes_;
  size_t batch_bytes_;
  std::chrono::steady_clock::duration fastest_ = std::chrono::steady_clock::duration::max();
};

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_SYNC_BATCH_SIZER_H_
