#include "server/core/ingest.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "crypto/envelope.h"
#include "crypto/receipt.h"
#include "server/core/admin_ops.h"

namespace temoin::server {
namespace {

constexpr absl::string_view kLogSizeKey = "meta/log_size";

void SetError(v1::RecordResult& result, const absl::Status& status) {
  result.set_code(static_cast<int32_t>(status.code()));
  result.set_message(std::string(status.message()));
}

// Everything a record must satisfy before storage is touched. The first violation wins.
absl::StatusOr<crypto::VerifiedRecord> CheckRecord(const v1::Envelope& envelope,
                                                   const v1::StoredDevice& device,
                                                   const v1::StoredProject& project) {
  TEMOIN_ASSIGN_OR_RETURN(crypto::VerifiedRecord verified,
                          crypto::VerifyRecord(envelope, device.signing_public_key()));
  const v1::RecordHeader& header = verified.header;
  if (header.device_id() != device.device_id()) {
    return absl::PermissionDeniedError("record was made by another device");
  }
  if (header.project_id() != device.project_id()) {
    return absl::PermissionDeniedError("record belongs to another project");
  }
  for (const v1::RecipientRef& recipient : header.recipients()) {
    bool known = false;
    for (const v1::SignedProjectKey& key : project.keys()) {
      v1::ProjectKeyBody body;
      if (body.ParseFromString(key.body()) && body.epoch() == recipient.epoch() &&
          crypto::KeyId(body.public_key()) == recipient.key_id()) {
        known = true;
      }
    }
    if (!known) {
      return absl::PermissionDeniedError("record is sealed to a key this project does not have");
    }
  }
  if (header.attachments_size() > 0) {
    return absl::UnimplementedError("attachments are not accepted by this server version yet");
  }
  return verified;
}

}  // namespace

Ingest::Ingest(Registry* registry, const Clock* clock, const crypto::SigningKey* receipt_key,
               IngestLimits limits)
    : registry_(registry),
      clock_(clock),
      receipt_key_(receipt_key),
      limits_(limits),
      server_key_id_(crypto::KeyId(receipt_key->public_key())) {}

absl::Status Ingest::LoadLogSizeLocked() {
  if (log_size_loaded_) return absl::OkStatus();
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> value, registry_->store().Get(kLogSizeKey));
  log_size_ = value.has_value() ? DecodeU64BigEndian(*value) : 0;
  log_size_loaded_ = true;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::RecordResult>> Ingest::UploadBatch(
    const Session& session, const google::protobuf::RepeatedPtrField<v1::Envelope>& records) {
  TEMOIN_RETURN_IF_ERROR(RequireRole(session, v1::ROLE_MONITOR));
  if (static_cast<size_t>(records.size()) > limits_.max_records_per_batch) {
    return absl::ResourceExhaustedError(
        absl::StrCat("too many records in one batch (limit ", limits_.max_records_per_batch, ")"));
  }
  TEMOIN_ASSIGN_OR_RETURN(auto project, registry_->ProjectById(session.device.project_id()));
  if (!project.has_value()) return absl::FailedPreconditionError("device has no project");

  std::vector<v1::RecordResult> results(records.size());
  // Verification is the expensive part and needs no lock.
  std::vector<std::optional<crypto::VerifiedRecord>> verified(records.size());
  for (int i = 0; i < records.size(); ++i) {
    absl::StatusOr<crypto::VerifiedRecord> checked =
        CheckRecord(records[i], session.device, *project);
    if (!checked.ok()) {
      // Echo the id only when it is well-formed, so results line up for the client.
      v1::RecordHeader header;
      if (header.ParseFromString(records[i].header()) &&
          header.record_id().size() == crypto::kRecordIdBytes) {
        results[i].set_record_id(header.record_id());
      }
      SetError(results[i], checked.status());
      continue;
    }
    results[i].set_record_id(checked->header.record_id());
    verified[i] = std::move(*checked);
  }

  std::lock_guard lock(mu_);
  TEMOIN_RETURN_IF_ERROR(LoadLogSizeLocked());
  // Re-read the device under the lock: the session's copy was taken when the token was
  // checked, and writing it back could undo a revocation or lower highest_seq.
  TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::StoredDevice> current,
                          registry_->Device(session.device_id()));
  if (!current.has_value()) return absl::UnauthenticatedError("session token is not valid");
  if (current->revoked()) return absl::PermissionDeniedError("device has been revoked");
  int64_t now = clock_->NowSeconds();
  int64_t received_at = now - now % 3600;  // to the hour: no finer timing kept
  WriteBatch batch;
  uint64_t next_index = log_size_;
  uint64_t highest_seq = current->highest_seq();
  std::map<std::string, std::string> digest_in_batch;  // record id -> digest
  std::vector<int> fresh;
  for (int i = 0; i < records.size(); ++i) {
    if (!verified[i].has_value()) continue;
    const crypto::VerifiedRecord& record = *verified[i];
    const std::string& id = record.header.record_id();
    TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::StoredRecord> stored, registry_->Record(id));
    std::optional<std::string> earlier_digest;
    if (stored.has_value()) earlier_digest = stored->digest();
    if (auto it = digest_in_batch.find(id); it != digest_in_batch.end()) {
      earlier_digest = it->second;
    }
    if (earlier_digest.has_value()) {
      if (*earlier_digest == record.digest) {
        if (stored.has_value())
          *results[i].mutable_receipt() = stored->receipt();
        else
          fresh.push_back(i);  // same record twice in one batch: same receipt below
        continue;
      }
      batch.Put(keys::Conflict(id, record.digest), records[i].SerializeAsString());
      SetError(results[i],
               absl::FailedPreconditionError("record id already stored with different content"));
      continue;
    }
    v1::ReceiptBody body;
    body.set_format_version(1);
    body.set_record_id(id);
    body.set_digest(record.digest);
    body.set_log_index(++next_index);
    body.set_received_at(received_at);
    body.set_server_key_id(server_key_id_);
    v1::StoredRecord row;
    *row.mutable_envelope() = records[i];
    row.set_digest(record.digest);
    *row.mutable_receipt() = crypto::SignReceipt(body, *receipt_key_);
    row.set_project(project->name());
    row.set_device_id(session.device_id());
    row.set_device_seq(record.header.device_seq());
    row.set_log_index(body.log_index());
    row.set_received_at(received_at);
    batch.Put(keys::Record(id), row.SerializeAsString());
    batch.Put(keys::Log(body.log_index()), id);
    batch.Put(keys::ProjectLog(project->project_id(), body.log_index()), id);
    *results[i].mutable_receipt() = row.receipt();
    digest_in_batch[id] = record.digest;
    highest_seq = std::max<uint64_t>(highest_seq, record.header.device_seq());
    fresh.push_back(i);
  }
  if (batch.empty()) return results;
  if (next_index != log_size_) {
    batch.Put(std::string(kLogSizeKey), EncodeU64BigEndian(next_index));
    current->set_highest_seq(highest_seq);
    batch.Put(keys::Device(current->device_id()), current->SerializeAsString());
  }
  if (absl::Status s = registry_->store().Commit(batch); !s.ok()) {
    // Nothing of this batch is acknowledged: the client keeps its copies and retries.
    return s;
  }
  log_size_ = next_index;
  // Duplicates inside the batch take the receipt of their first occurrence.
  std::map<std::string, v1::Receipt> receipts;
  for (int i : fresh) {
    if (results[i].has_receipt()) receipts[results[i].record_id()] = results[i].receipt();
  }
  for (int i : fresh) {
    if (!results[i].has_receipt()) *results[i].mutable_receipt() = receipts[results[i].record_id()];
  }
  return results;
}

}  // namespace temoin::server
