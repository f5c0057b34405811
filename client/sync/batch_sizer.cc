#include "client/sync/batch_sizer.h"

#include <algorithm>

namespace temoin::client {

namespace {

double Seconds(BatchSizer::Clock::duration d) { return std::chrono::duration<double>(d).count(); }

}  // namespace

BatchSizer::BatchSizer(size_t initial_bytes, size_t max_bytes, int least_batches)
    : initial_bytes_(std::min(initial_bytes, max_bytes)),
      max_bytes_(max_bytes),
      least_batches_(std::max(least_batches, 1)),
      batch_bytes_(initial_bytes_),
      window_bytes_(kSlowStartBatches * initial_bytes_) {}

int BatchSizer::least_batches() const {
  if (!rate().has_value()) return kSlowStartBatches;
  return one_beyond_ ? 1 : least_batches_;
}

std::optional<double> BatchSizer::rate() const {
  // Two samples at least: one gap can be short because the server answered two
  // batches together.
  if (rate_samples_ < 2) return std::nullopt;
  size_t n = std::min(rate_samples_, rates_.size());
  std::array<double, 5> sorted = rates_;
  std::sort(sorted.begin(), sorted.begin() + n);
  return sorted[(n - 1) / 2];
}

void BatchSizer::OnAnswer(size_t bytes, Clock::time_point sent, Clock::time_point answered) {
  const Clock::duration delay = answered - sent;
  if (delay < fastest_) {
    fastest_ = delay;
    fastest_bytes_ = bytes;
  }
  NoteRate(bytes, sent, answered);
  last_answer_ = answered;
  if (std::optional<double> measured = rate()) {
    SizeForTheLink(*measured);
  } else if (rate_samples_ == 0) {
    SlowStart(delay);
  }  // else hold: the rate is one answer away, and doubling now would overshoot it
}

void BatchSizer::NoteRate(size_t bytes, Clock::time_point sent, Clock::time_point answered) {
  // The fastest answer is at least a round trip: a batch sent that long before the
  // previous answer was queued behind the previous batch's last byte, so nothing but
  // this batch crossed the link between the two answers. A batch sent on an answer, to
  // an idle link, also carries a round trip in its gap and is not a sample.
  if (!last_answer_ || sent + fastest_ > *last_answer_) return;
  const double gap = Seconds(answered - *last_answer_);
  if (gap <= 0) return;
  const double sample = static_cast<double>(bytes) / gap;
  if (std::optional<double> known = rate(); known && sample > 4 * *known) {
    if (++fast_samples_in_a_row_ < 3) return;
  } else {
    fast_samples_in_a_row_ = 0;
  }
  rates_[rate_samples_ % rates_.size()] = sample;
  ++rate_samples_;
}

bool BatchSizer::SamplesAgree() const {
  if (rate_samples_ < 3) return false;
  const size_t n = std::min(rate_samples_, rates_.size());
  const auto [low, high] = std::minmax_element(rates_.begin(), rates_.begin() + n);
  return *high <= 2 * *low;
}

void BatchSizer::SizeForTheLink(double rate) {
  const double round_trip =
      std::max(0.0, Seconds(fastest_) - static_cast<double>(fastest_bytes_) / rate);
  // In doubles until clamped: a rate of GB/s on loopback must not overflow a size_t.
  const double batch = std::clamp(rate * kBatchAirSeconds, static_cast<double>(initial_bytes_),
                                  static_cast<double>(max_bytes_));
  // One batch beyond the bandwidth-delay product instead of two on a link known to cut
  // (a floor of two) whose answers cross in under an eighth of a batch's air time: the
  // second would mostly wait in the modem's queue for the cut to lose it, and the link
  // idles at most an eighth of the time while each answer crosses. Decided on three
  // rate samples at least, all within a factor of two of each other: a stall can make
  // samples low (and the round trip read as nothing), and with one batch in flight no
  // batch waits behind another, so no later sample would correct them.
  one_beyond_ = least_batches_ <= 2 && SamplesAgree() && round_trip < batch / rate / 8;
  const double floor = (one_beyond_ ? 1 : least_batches_) * batch;
  const double beyond = (one_beyond_ ? 1 : 2) * batch;
  const double window = std::min(std::max(floor, rate * round_trip + beyond), 1e12);
  batch_bytes_ = std::min(static_cast<size_t>(batch), 2 * batch_bytes_);
  window_bytes_ = std::min(static_cast<size_t>(window), 2 * window_bytes_);
}

void BatchSizer::SlowStart(Clock::duration delay) {
  if (delay <= std::max<Clock::duration>(2 * fastest_, kFastAnswer)) {
    batch_bytes_ = std::min(batch_bytes_ * 2, max_bytes_);
  } else if (delay > 4 * fastest_) {
    batch_bytes_ = std::max(batch_bytes_ / 2, initial_bytes_);
  }
  window_bytes_ = kSlowStartBatches * batch_bytes_;
}

}  // namespace temoin::client
