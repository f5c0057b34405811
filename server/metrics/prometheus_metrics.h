#ifndef TEMOIN_SERVER_METRICS_PROMETHEUS_METRICS_H_
#define TEMOIN_SERVER_METRICS_PROMETHEUS_METRICS_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/core/metrics.h"

namespace prometheus {
class Exposer;
class Registry;
}  // namespace prometheus

namespace temoin::server {

class StoreGauges;  // prometheus_metrics.cc

// OK for "127.x.y.z:PORT" and "[::1]:PORT" (PORT 1-65535); kInvalidArgument, with the
// reason, for anything else: metrics say how busy the server is and when devices sync,
// which is for the operator's own machine (a local Prometheus, or an SSH tunnel) only.
absl::Status CheckLoopbackAddress(absl::string_view address);

// Gauges read when Prometheus scrapes rather than kept up to date.
struct ScrapedGauges {
  std::function<size_t()> open_sessions;
  std::string store_path;  // its files' total size: temoin_store_bytes
  std::string data_path;   // its file system's free space: temoin_disk_free_bytes
  // temoin_store_memory_bytes; absent (or answering nullopt) for an engine that keeps
  // no cache in this process.
  std::function<std::optional<uint64_t>()> store_memory;
};

// The core's Metrics as Prometheus metrics, served over plain HTTP at /metrics on a
// loopback address (prometheus-cpp's pull exposer). Thread-safe. Names in
// docs/admin-guide.md ("Metrics").
class PrometheusMetrics final : public Metrics {
 public:
  // kInvalidArgument for an address that is not loopback; kUnavailable when it cannot
  // be bound.
  static absl::StatusOr<std::unique_ptr<PrometheusMetrics>> Start(const std::string& address,
                                                                  ScrapedGauges gauges);
  ~PrometheusMetrics() override;

  void CountRecord(RecordOutcome outcome, absl::StatusCode reason) override;
  void CountSignIn(absl::StatusCode result) override;
  void CountAttachmentPiece() override;
  void CountBytesIn(uint64_t bytes) override;
  void CountBytesOut(uint64_t bytes) override;
  void ObserveCommitSeconds(double seconds) override;
  void CountLogProofs(LogProofsVia via) override;
  void CountSignInOnUpload() override;
  void CountCommitments(CommitmentForm form, uint64_t count) override;

  int port() const { return port_; }

 private:
  struct Families;
  PrometheusMetrics() = default;

  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Families> families_;
  std::shared_ptr<StoreGauges> gauges_;
  std::unique_ptr<prometheus::Exposer> exposer_;  // last: stops serving first
  int port_ = 0;
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_METRICS_PROMETHEUS_METRICS_H_
