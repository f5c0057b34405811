#ifndef TEMOIN_CLIENT_SYNC_BATCH_SIZER_H_
#define TEMOIN_CLIENT_SYNC_BATCH_SIZER_H_

#include <array>
#include <chrono>
#include <cstddef>
#include <optional>

namespace temoin::client {

// How big the next upload batch should be, and how many bytes may be unanswered at
// once. A batch is stored only when it arrives whole, so whatever is unanswered when a
// link drops is sent again: on 2G the batches must stay small, on a good link they
// should grow to amortise fsyncs and signatures, and the window must cover the round
// trip so that the link never idles while an answer crosses it.
//
// Two phases:
// - Slow start, steered by delay, until the link's rate is known: each answer that came
//   back about as fast as the fastest one seen doubles the batch (up to `max_bytes`); an
//   answer that took more than twice as long means data is queueing in front of the link
//   (the modem, the simulator), so the size holds; more than four times as long halves it
//   (not below `initial_bytes`). Answers under `kFastAnswer` always count as fast: on
//   loopback or a LAN the server's own work, not a queue, sets the delay. The window is
//   three batches: the third is what times the link (a rate sample is a batch that
//   waited behind another), whatever `least_batches` says. Once a first rate sample is
//   in, the sizes hold until the second.
// - The link: when a batch was already waiting at the device while the one before it
//   was on the link, the link carried it alone between their two answers, so its bytes
//   over that gap are the link's rate (the median of the last five such samples). The
//   fastest answer less its batch's air time is the round trip. A batch is then half a
//   second of air time, and the window the bandwidth-delay product plus two batches (at
//   least `least_batches`): one on the air while the answer of the one before crosses
//   back. A link known to cut asks for two at least, and a cut loses what is unanswered
//   (64 kbit/s cut every ~64 KiB: 74 KB lost over six cuts with three, 53 KB with two,
//   the same goodput). Where its answers cross in under an eighth of a batch's air time
//   (no latency to speak of), it keeps one batch beyond the bandwidth-delay product
//   instead of two, and the fewest batches are one: 29 KB lost on that row, the goodput
//   within a run's noise.
//   Sizes grow at most twofold an answer, as in slow start. A sample more than four
//   times the rate is taken only as the third in a row: answers that arrive together (a
//   stall on a 2G link, or the device busy with the answer before) make a gap far
//   shorter than the batch's air time, while a link that really got faster gives such
//   samples every time. The round trip is the fastest answer ever seen in the stream: a
//   path whose delay grows mid-stream keeps a window sized for the old one (each sync
//   measures afresh), since a minimum that ages would count the window's own queue as
//   round trip and grow the window with it.
//   Slow start alone grew batches to 256 KiB on 256 kbit/s with a 600 ms round trip
//   (eight seconds of air each), then halved them as their own air time read as queue,
//   and twice a cycle drained the window to nothing: 0.82 of the link.
// Not thread-safe.
class BatchSizer {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::milliseconds kFastAnswer{150};
  // Each batch costs a signature and an fsync on the server and a synced vault commit on
  // the device; half a second of air amortises them and still keeps a cut's loss small.
  static constexpr double kBatchAirSeconds = 0.5;
  static constexpr int kSlowStartBatches = 3;

  // `least_batches`: the fewest batches the window holds once the rate is known (3; 2 on
  // a link known to cut, which may then go down to one, above). Slow start always has
  // three.
  BatchSizer(size_t initial_bytes, size_t max_bytes, int least_batches = 3);

  size_t batch_bytes() const { return batch_bytes_; }
  size_t window_bytes() const { return window_bytes_; }
  // Batches the window lets go whatever their bytes (one may hold a record larger than
  // batch_bytes()): three in slow start, then `least_batches`, or one where a link known
  // to cut keeps one batch beyond the bandwidth-delay product.
  int least_batches() const;

  // The link's rate in bytes a second, once measured.
  std::optional<double> rate() const;

  // A batch of `bytes`, handed to the stream at `sent`, was answered at `answered`.
  void OnAnswer(size_t bytes, Clock::time_point sent, Clock::time_point answered);

 private:
  void SlowStart(Clock::duration delay);
  void NoteRate(size_t bytes, Clock::time_point sent, Clock::time_point answered);
  void SizeForTheLink(double rate);
  bool SamplesAgree() const;  // three rate samples or more, within a factor of two

  const size_t initial_bytes_;
  const size_t max_bytes_;
  const int least_batches_;
  size_t batch_bytes_;
  size_t window_bytes_;
  Clock::duration fastest_ = Clock::duration::max();
  size_t fastest_bytes_ = 0;
  std::optional<Clock::time_point> last_answer_;
  std::array<double, 5> rates_{};
  size_t rate_samples_ = 0;
  bool one_beyond_ = false;        // one batch beyond the bandwidth-delay product, not two
  int fast_samples_in_a_row_ = 0;  // over four times the rate; the first two are not taken
};

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_SYNC_BATCH_SIZER_H_
