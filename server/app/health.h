#ifndef TEMOIN_SERVER_APP_HEALTH_H_
#define TEMOIN_SERVER_APP_HEALTH_H_

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/status/status.h"
#include "server/storage/store.h"

namespace temoin::server {

// The store key the health probe deletes. Nothing writes it; the probe's commit is a
// durable (fsync'd) write that changes no data.
inline constexpr char kHealthProbeKey[] = "~health/probe";

// OK when `store` takes a durable write now: a synced commit deleting kHealthProbeKey.
// The store's own error otherwise (kResourceExhausted when the disk is full).
absl::Status ProbeStoreWritable(Store& store);

// Keeps a health status true to the store: probes it at once and then every `period`,
// and reports each result through `set_serving` (called from the probing thread, and
// only when the answer changes). Stop() (or destruction) reports false and stops
// probing: shutting down is not serving. Thread-safe.
class HealthReporter {
 public:
  // `store` not owned; must outlive this.
  HealthReporter(Store* store, std::function<void(bool serving)> set_serving,
                 std::chrono::milliseconds period);
  ~HealthReporter() { Stop(); }
  HealthReporter(const HealthReporter&) = delete;
  HealthReporter& operator=(const HealthReporter&) = delete;

  // Reports not serving and joins the probing thread; later calls do nothing.
  void Stop();

 private:
  void ProbeLoop(std::chrono::milliseconds period);

  Store* const store_;
  const std::function<void(bool)> set_serving_;
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_APP_HEALTH_H_
