#ifndef TEMOIN_SERVER_CORE_RELAY_SPOOL_H_
#define TEMOIN_SERVER_CORE_RELAY_SPOOL_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/core/bundle_import.h"
#include "server/core/core.h"
#include "server/core/session.h"

// Relays (Sync/Relay: a device hands over a bundle that another device made) are
// written to a spool file as they arrive and imported from it, so that the server holds
// a 64 KiB window of each relay in memory, not the bundle: a few parallel relays of
// 1 GiB cannot push it out of memory (issue 15, item 4). The spool holds only what the
// carrier sent, which is sealed to the server's bundle key; its files are unlinked at
// creation, so nothing is left behind by a crash or an abandoned call.
namespace temoin::server {

struct RelayLimits {
  std::string spool_dir;  // DATA/spool; created if missing
  uint64_t max_bytes_per_relay = kMaxBundleBytes;
  uint64_t max_spooled_bytes = 4ull << 30;  // all relays in flight together
  int max_relays_per_carrier = 2;           // in flight at once
};

class RelaySpool;

// One relay in flight, made by RelaySpool::Begin. Ends (file closed and gone, budgets
// released) when destroyed.
class RelayUpload {
 public:
  RelayUpload(RelayUpload&&) = delete;
  ~RelayUpload();

  // Appends the next piece. Charges the carrier's daily quota first (kResourceExhausted
  // "daily upload quota …" when used up), then the relay and spool budgets
  // (kResourceExhausted "bundle is over the size limit" / "the server's relay spool is
  // full; try again later"). kResourceExhausted when the disk is full.
  absl::Status Append(absl::string_view piece);

  // Imports what was spooled (ImportBundle).
  absl::StatusOr<BundleImportReport> Finish();

  uint64_t bytes() const { return bytes_; }

 private:
  friend class RelaySpool;
  RelayUpload(RelaySpool* spool, std::string carrier, int fd);

  RelaySpool* const spool_;
  const std::string carrier_;  // device id
  const int fd_;
  uint64_t bytes_ = 0;
};

class RelaySpool {
 public:
  // `core` not owned, must outlive this and every RelayUpload.
  RelaySpool(Core* core, RelayLimits limits);

  // A relay for `carrier`. kResourceExhausted "too many relays in flight from this
  // device" at its cap; kUnavailable when the spool cannot be written.
  absl::StatusOr<std::unique_ptr<RelayUpload>> Begin(const Session& carrier);

  // Bytes held by relays in flight (for tests and metrics).
  uint64_t spooled_bytes() const;

 private:
  friend class RelayUpload;
  absl::Status Reserve(uint64_t bytes);
  void Release(const std::string& carrier, uint64_t bytes);

  Core* const core_;
  const RelayLimits limits_;
  mutable std::mutex mu_;
  uint64_t spooled_ = 0;
  std::map<std::string, int> in_flight_;  // by carrier device id
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_CORE_RELAY_SPOOL_H_
