#ifndef TEMOIN_SERVER_CORE_REVIEW_OPS_H_
#define TEMOIN_SERVER_CORE_REVIEW_OPS_H_

#include <vector>

#include "absl/status/statusor.h"
#include "server/core/audit_log.h"
#include "server/core/metrics.h"
#include "server/core/registry.h"
#include "server/core/session.h"
#include "temoin/v1/review.pb.h"

namespace temoin::server {

// What reviewers do: list and fetch sealed records of the projects granted to them,
// and pull their grants. Anyone else gets kPermissionDenied; a record outside the
// caller's grants is kNotFound, exactly like one that does not exist, so that no
// foreign record id can be probed. Requests untrusted. Thread-safe.
class ReviewOps {
 public:
  static constexpr uint32_t kDefaultPageSize = 500;
  static constexpr uint32_t kMaxPageSize = 2000;
  static constexpr int kMaxFetchIds = 256;

  // Neither owned; both must outlive this.
  ReviewOps(Registry* registry, AuditLog* audit) : registry_(registry), audit_(audit) {}

  // Records of all granted projects after `after_log_index`, in log order.
  absl::StatusOr<v1::ListRecordsResponse> ListRecords(const Session& session,
                                                      const v1::ListRecordsRequest& req);
  // An id names every granted record that carries it (ids are per device, so two
  // devices may use the same one; normally there is one). All ids are checked before
  // anything is returned, and one audit entry per record
  // (who, which record, when) is durable before anything is returned.
  absl::StatusOr<std::vector<v1::FetchedRecord>> FetchRecords(const Session& session,
                                                              const v1::FetchRecordsRequest& req);
  absl::StatusOr<v1::GetGrantsResponse> GetGrants(const Session& session);

  // Not owned; must outlive this. Set before the first call (not synchronised).
  void set_metrics(Metrics* metrics) { metrics_ = metrics; }

 private:
  Registry* const registry_;
  AuditLog* const audit_;
  Metrics* metrics_ = &NoMetrics();
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_CORE_REVIEW_OPS_H_
