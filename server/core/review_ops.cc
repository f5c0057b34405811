#include "server/core/review_ops.h"

#include <algorithm>
#include <set>

#include "common/encoding.h"
#include "common/status_macros.h"
#include "crypto/envelope.h"
#include "server/core/admin_ops.h"

namespace temoin::server {
namespace {

v1::RecordSummary Summarize(const std::string& id, const v1::StoredRecord& stored) {
  v1::RecordSummary summary;
  summary.set_record_id(id);
  summary.set_project(stored.project());
  summary.set_device_id(stored.device_id());
  summary.set_device_seq(stored.device_seq());
  summary.set_log_index(stored.log_index());
  summary.set_received_at(stored.received_at());
  summary.set_size(stored.envelope().ByteSizeLong());
  summary.set_quarantined(stored.quarantined());
  return summary;
}

}  // namespace

absl::StatusOr<v1::ListRecordsResponse> ReviewOps::ListRecords(const Session& session,
                                                               const v1::ListRecordsRequest& req) {
  TEMOIN_RETURN_IF_ERROR(RequireRole(session, v1::ROLE_REVIEWER));
  uint32_t limit = req.limit() == 0 ? kDefaultPageSize : std::min(req.limit(), kMaxPageSize);
  TEMOIN_ASSIGN_OR_RETURN(std::vector<std::string> projects,
                          registry_->GrantedProjects(session.device_id()));
  // Each project keeps its own index in log order; merge the first `limit + 1` of each.
  std::vector<std::pair<uint64_t, std::string>> hits;  // (log index, device id || record id)
  for (const std::string& name : projects) {
    TEMOIN_ASSIGN_OR_RETURN(auto project, registry_->Project(name));
    if (!project.has_value()) continue;
    std::string prefix = keys::ProjectLogPrefix(project->project_id());
    std::string start = req.after_log_index() == 0
                            ? ""
                            : keys::ProjectLog(project->project_id(), req.after_log_index());
    uint32_t taken = 0;
    TEMOIN_RETURN_IF_ERROR(
        registry_->store().Scan(prefix, start, [&](absl::string_view key, absl::string_view value) {
          hits.emplace_back(DecodeU64BigEndian(key.substr(prefix.size())), std::string(value));
          return ++taken <= limit;
        }));
  }
  std::sort(hits.begin(), hits.end());
  v1::ListRecordsResponse response;
  response.set_more(hits.size() > limit);
  if (hits.size() > limit) hits.resize(limit);
  for (const auto& [index, value] : hits) {
    TEMOIN_ASSIGN_OR_RETURN(RecordRef ref, DecodeRecordRef(value));
    TEMOIN_ASSIGN_OR_RETURN(auto stored, registry_->Record(ref.device_id, ref.record_id));
    if (!stored.has_value()) return absl::DataLossError("log names a missing record");
    *response.add_records() = Summarize(ref.record_id, *stored);
  }
  return response;
}

absl::StatusOr<std::vector<v1::FetchedRecord>> ReviewOps::FetchRecords(
    const Session& session, const v1::FetchRecordsRequest& req) {
  TEMOIN_RETURN_IF_ERROR(RequireRole(session, v1::ROLE_REVIEWER));
  if (req.record_ids_size() > kMaxFetchIds) {
    return absl::ResourceExhaustedError("too many record ids in one fetch (limit 256)");
  }
  TEMOIN_ASSIGN_OR_RETURN(std::vector<std::string> granted,
                          registry_->GrantedProjects(session.device_id()));
  std::set<std::string> granted_set(granted.begin(), granted.end());
  std::vector<v1::FetchedRecord> out;
  for (const std::string& id : req.record_ids()) {
    if (id.size() != crypto::kRecordIdBytes) {
      return absl::InvalidArgumentError("record id has wrong length");
    }
    // Record ids are per device: the id names every granted record that carries it
    // (normally one; each comes with its own summary naming its device).
    TEMOIN_ASSIGN_OR_RETURN(std::vector<v1::StoredRecord> with_id, registry_->RecordsWithId(id));
    bool found = false;
    for (v1::StoredRecord& stored : with_id) {
      if (!granted_set.contains(stored.project())) continue;
      found = true;
      TEMOIN_ASSIGN_OR_RETURN(auto device, registry_->Device(stored.device_id()));
      v1::FetchedRecord fetched;
      *fetched.mutable_summary() = Summarize(id, stored);
      *fetched.mutable_envelope() = std::move(*stored.mutable_envelope());
      *fetched.mutable_receipt() = stored.receipt();
      if (device.has_value()) {
        fetched.set_device_signing_key(device->signing_public_key());
        // Reviewers trust the certificate (org-signed chain), not the key above.
        if (device->has_certificate()) {
          *fetched.mutable_device_certificate() = device->certificate();
        }
      }
      out.push_back(std::move(fetched));
    }
    if (!found) {
      return absl::NotFoundError("record not found among the projects granted to this device");
    }
  }
  // No fetch without an audit entry: if the log cannot be written, nothing is returned.
  std::vector<AuditEvent> events;
  for (const v1::FetchedRecord& fetched : out) {
    events.push_back({session.device_id(), "record.fetch", fetched.summary().record_id(),
                      fetched.summary().project()});
  }
  if (!events.empty()) TEMOIN_RETURN_IF_ERROR(audit_->CommitWith(WriteBatch(), events));
  for (const v1::FetchedRecord& fetched : out) {
    metrics_->CountBytesOut(fetched.envelope().ByteSizeLong());
  }
  return out;
}

absl::StatusOr<v1::GetGrantsResponse> ReviewOps::GetGrants(const Session& session) {
  TEMOIN_RETURN_IF_ERROR(RequireRole(session, v1::ROLE_REVIEWER));
  TEMOIN_ASSIGN_OR_RETURN(std::vector<std::string> projects,
                          registry_->GrantedProjects(session.device_id()));
  v1::GetGrantsResponse response;
  for (const std::string& name : projects) {
    TEMOIN_ASSIGN_OR_RETURN(auto project, registry_->Project(name));
    TEMOIN_ASSIGN_OR_RETURN(auto grant, registry_->Grant(session.device_id(), name));
    if (!project.has_value() || !grant.has_value()) continue;
    for (const v1::StoredEpochSecret& secret : grant->secrets()) {
      if (secret.epoch() < 1 || secret.epoch() > static_cast<uint32_t>(project->keys_size())) {
        continue;
      }
      v1::Grant* out = response.add_grants();
      *out->mutable_key() = project->keys(static_cast<int>(secret.epoch()) - 1);
      out->set_sealed_secret(secret.sealed());
    }
  }
  return response;
}

}  // namespace temoin::server
