#ifndef TEMOIN_COMMON_CLOCK_H_
#define TEMOIN_COMMON_CLOCK_H_

#include <atomic>
#include <cstdint>

namespace temoin {

// Wall-clock seconds. Behind an interface so that expiry logic is tested without
// sleeping. Order never comes from clocks (device_seq and the log index do that).
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t NowSeconds() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowSeconds() const override;
  static const Clock& Get();
};

// Thread-safe settable clock for tests.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now) : now_(now) {}
  int64_t NowSeconds() const override { return now_.load(); }
  void Advance(int64_t seconds) { now_ += seconds; }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace temoin

#endif  // TEMOIN_COMMON_CLOCK_H_
