#include "server/core/ingest.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "crypto/envelope.h"
#include "crypto/receipt.h"
#include "server/core/admin_ops.h"
#include "server/core/record_checks.h"
#include "server/core/sync_keys.h"
#include "server/core/transparency_log.h"

namespace temoin::server {
namespace {

constexpr absl::string_view kRecordSignatureContext = "temoin/record/v1";

// A commitment verifies without the body: the device signature over the digest. The
// header is bound to that digest only when the body arrives (its digest must match).
absl::StatusOr<v1::RecordHeader> CheckCommitment(const v1::Commitment& commitment,
                                                 const v1::StoredDevice& device,
                                                 const v1::StoredProject& project,
                                                 const IngestLimits& limits) {
  v1::RecordHeader header;
  if (commitment.header().size() > crypto::kMaxHeaderBytes ||
      !header.ParseFromString(commitment.header())) {
    return absl::InvalidArgumentError("commitment header is malformed");
  }
  if (header.record_id().size() != crypto::kRecordIdBytes) {
    return absl::InvalidArgumentError("commitment header record_id has wrong length");
  }
  if (commitment.digest().size() != crypto::kDigestBytes) {
    return absl::InvalidArgumentError("commitment digest has wrong length");
  }
  if (!crypto::VerifySignature(device.signing_public_key(), kRecordSignatureContext,
                               commitment.digest(), commitment.signature())
           .ok()) {
    return absl::UnauthenticatedError("record signature verification failed");
  }
  TEMOIN_RETURN_IF_ERROR(CheckHeader(header, device, project, limits));
  return header;
}

}  // namespace

Ingest::Ingest(Registry* registry, const Clock* clock, const crypto::SigningKey* receipt_key,
               IngestLimits limits)
    : registry_(registry),
      clock_(clock),
      receipt_key_(receipt_key),
      limits_(limits),
      server_key_id_(crypto::KeyId(receipt_key->public_key())),
      rate_limiter_(clock, limits.rates) {}

absl::Status Ingest::CheckLogFormatLocked() {
  if (log_format_checked_) return absl::OkStatus();
  TEMOIN_ASSIGN_OR_RETURN(uint64_t log_size, registry_->store().LogSize());
  if (log_size > 0) {
    // A store made before per-device record keys is not read as if it were one.
    TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> first, registry_->store().Get(keys::Log(1)));
    if (first.has_value()) TEMOIN_RETURN_IF_ERROR(DecodeRecordRef(*first).status());
  }
  log_format_checked_ = true;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::RecordResult>> Ingest::UploadBatch(
    const Session& session, const google::protobuf::RepeatedPtrField<v1::Envelope>& records,
    std::string* batch_signature, bool relayed) {
  uint64_t received = 0;
  for (const v1::Envelope& record : records) received += record.ByteSizeLong();
  metrics_->CountBytesIn(received);
  std::vector<bool> stored_now(records.size(), false);
  absl::StatusOr<std::vector<v1::RecordResult>> results =
      StoreBatch(session, records, batch_signature, relayed, stored_now);
  CountOutcomes(results, records.size(), stored_now);
  return results;
}

void Ingest::CountOutcomes(const absl::StatusOr<std::vector<v1::RecordResult>>& results,
                           int records, const std::vector<bool>& stored_now) {
  if (!results.ok()) {
    // The batch as a whole was refused (rate, size, revoked, disk full): nothing stored.
    for (int i = 0; i < records; ++i) {
      metrics_->CountRecord(RecordOutcome::kRefused, results.status().code());
    }
    return;
  }
  for (size_t i = 0; i < results->size(); ++i) {
    const v1::RecordResult& result = (*results)[i];
    const auto code = static_cast<absl::StatusCode>(result.code());
    if (code == absl::StatusCode::kOk) {
      metrics_->CountRecord(stored_now[i] ? RecordOutcome::kAccepted : RecordOutcome::kDuplicate,
                            code);
    } else if (code == absl::StatusCode::kFailedPrecondition &&
               result.message() == kConflictMessage) {
      metrics_->CountRecord(RecordOutcome::kConflicting, code);
    } else {
      metrics_->CountRecord(RecordOutcome::kRefused, code);
    }
  }
}

v1::StoredCommitment Ingest::SignedCommitment(const std::string& device_id,
                                              const v1::Commitment& commitment,
                                              const std::string& record_id, int64_t now) const {
  const v1::ReceiptBody body =
      CommitmentReceiptBody(record_id, commitment.digest(), now, server_key_id_);
  v1::StoredCommitment row;
  *row.mutable_commitment() = commitment;
  *row.mutable_receipt() =
      crypto::SignReceipt(body, *receipt_key_, crypto::ReceiptKind::kCommitment);
  row.set_device_id(device_id);
  return row;
}

v1::ReceiptBody CommitmentReceiptBody(const std::string& record_id, const std::string& digest,
                                      int64_t now, const std::string& server_key_id) {
  v1::ReceiptBody body;
  body.set_format_version(1);
  body.set_record_id(record_id);
  body.set_digest(digest);
  body.set_received_at(now - now % 3600);
  body.set_server_key_id(server_key_id);
  return body;
}

absl::StatusOr<std::optional<v1::StoredCommitment>> Ingest::HeldCommitment(
    const std::string& device_id, const std::string& record_id) const {
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> held,
                          registry_->store().Get(keys::Commitment(device_id, record_id)));
  if (!held.has_value()) return std::nullopt;
  v1::StoredCommitment row;
  if (!row.ParseFromString(*held)) {
    return absl::DataLossError("stored value does not parse: StoredCommitment");
  }
  return row;
}

absl::StatusOr<std::optional<v1::Receipt>> Ingest::CommitmentReceiptFor(
    const std::string& device_id, const v1::Envelope& envelope, const std::string& record_id,
    const std::string& digest, int64_t now, WriteBatch& batch) const {
  TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::StoredCommitment> held,
                          HeldCommitment(device_id, record_id));
  if (held.has_value()) {
    if (held->commitment().digest() != digest) return std::nullopt;  // kept as a conflict
    return held->receipt();
  }
  v1::StoredCommitment row =
      SignedCommitment(device_id, crypto::MakeCommitment(envelope), record_id, now);
  batch.Put(keys::Commitment(device_id, record_id), row.SerializeAsString());
  return row.receipt();
}

absl::StatusOr<bool> Ingest::AnswerFromHeld(const std::string& device_id, const std::string& id,
                                            const std::string& digest,
                                            v1::RecordResult& result) const {
  TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::StoredRecord> stored, registry_->Record(device_id, id));
  if (stored.has_value()) {
    if (stored->digest() == digest) {
      *result.mutable_receipt() = stored->receipt();
    } else {
      SetError(result, absl::FailedPreconditionError(kConflictMessage));
    }
    return true;
  }
  // Body already in, waiting for attachments: the client skips re-sending it.
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> pending_row,
                          registry_->store().Get(keys::PendingRecord(device_id, id)));
  v1::StoredRecord pending;
  if (pending_row.has_value() && pending.ParseFromString(*pending_row) &&
      pending.digest() == digest) {
    result.set_awaiting_attachments(true);
  }
  TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::StoredCommitment> earlier,
                          HeldCommitment(device_id, id));
  if (!earlier.has_value()) return false;
  if (earlier->commitment().digest() == digest) {
    *result.mutable_commitment_receipt() = earlier->receipt();
  } else {
    SetError(result, absl::FailedPreconditionError(kConflictMessage));
  }
  return true;
}

absl::Status Ingest::CheckDeviceActive(const Session& session) const {
  TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::StoredDevice> current,
                          registry_->Device(session.device_id()));
  if (!current.has_value()) return absl::UnauthenticatedError("session token is not valid");
  if (current->revoked()) return absl::PermissionDeniedError("device has been revoked");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<v1::RecordResult>> Ingest::CommitBatch(
    const Session& session, const google::protobuf::RepeatedPtrField<v1::Commitment>& items) {
  TEMOIN_RETURN_IF_ERROR(RequireRole(session, v1::ROLE_MONITOR));
  if (static_cast<size_t>(items.size()) > limits_.max_commitments_per_batch) {
    return absl::ResourceExhaustedError(absl::StrCat("too many commitments in one batch (limit ",
                                                     limits_.max_commitments_per_batch, ")"));
  }
  TEMOIN_RETURN_IF_ERROR(rate_limiter_.AdmitBytes(session.device_id(), MessageBytes(items)));
  TEMOIN_ASSIGN_OR_RETURN(auto project, registry_->ProjectById(session.device.project_id()));
  if (!project.has_value()) return absl::FailedPreconditionError("device has no project");
  std::vector<v1::RecordResult> results(items.size());
  std::vector<std::optional<v1::RecordHeader>> headers(items.size());
  for (int i = 0; i < items.size(); ++i) {
    absl::StatusOr<v1::RecordHeader> header =
        CheckCommitment(items[i], session.device, *project, limits_);
    if (!header.ok()) {
      SetError(results[i], header.status());
      continue;
    }
    results[i].set_record_id(header->record_id());
    headers[i] = std::move(*header);
  }

  std::lock_guard lock(mu_);
  TEMOIN_RETURN_IF_ERROR(CheckDeviceActive(session));
  int64_t now = clock_->NowSeconds();
  const std::string& device_id = session.device_id();  // the namespace of every lookup
  WriteBatch batch;
  std::map<std::string, v1::Receipt> made;
  for (int i = 0; i < items.size(); ++i) {
    if (!headers[i].has_value()) continue;
    const std::string& id = headers[i]->record_id();
    if (auto it = made.find(id); it != made.end()) {
      *results[i].mutable_commitment_receipt() = it->second;
      continue;
    }
    TEMOIN_ASSIGN_OR_RETURN(const bool answered,
                            AnswerFromHeld(device_id, id, items[i].digest(), results[i]));
    if (answered) continue;
    const v1::StoredCommitment row = SignedCommitment(device_id, items[i], id, now);
    batch.Put(keys::Commitment(device_id, id), row.SerializeAsString());
    made[id] = row.receipt();
    *results[i].mutable_commitment_receipt() = row.receipt();
  }
  if (!batch.empty()) TEMOIN_RETURN_IF_ERROR(registry_->store().Commit(batch));
  metrics_->CountCommitments(CommitmentForm::kSingle, static_cast<uint64_t>(items.size()));
  return results;
}

absl::StatusOr<std::optional<v1::Receipt>> Ingest::PromoteIfComplete(const std::string& device_id,
                                                                     const std::string& record_id) {
  std::lock_guard lock(mu_);
  TEMOIN_RETURN_IF_ERROR(CheckLogFormatLocked());
  std::optional<v1::Receipt> receipt;
  TEMOIN_RETURN_IF_ERROR(
      registry_->store()
          .AppendToLog([&](uint64_t log_size) -> absl::StatusOr<LogAppend> {
            TEMOIN_ASSIGN_OR_RETURN(
                std::optional<std::string> pending_row,
                registry_->store().Get(keys::PendingRecord(device_id, record_id)));
            if (!pending_row.has_value()) return LogAppend{{}, log_size};
            v1::StoredRecord row;
            v1::RecordHeader header;
            if (!row.ParseFromString(*pending_row) ||
                !header.ParseFromString(row.envelope().header())) {
              return absl::DataLossError("stored value does not parse: StoredRecord");
            }
            for (const v1::AttachmentRef& ref : header.attachments()) {
              TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> value,
                                      registry_->store().Get(keys::Blob(device_id, ref.blob_id())));
              v1::StoredBlob blob;
              if (!value.has_value() || !blob.ParseFromString(*value)) {
                return absl::DataLossError("pending record names a missing attachment");
              }
              if (!blob.complete()) return LogAppend{{}, log_size};
            }
            TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::StoredDevice> device,
                                    registry_->Device(row.device_id()));
            TEMOIN_ASSIGN_OR_RETURN(auto project, registry_->ProjectById(header.project_id()));
            if (!device.has_value() || !project.has_value()) {
              return absl::DataLossError("pending record names a missing device or project");
            }
            int64_t now = clock_->NowSeconds();
            v1::ReceiptBody body;
            body.set_format_version(1);
            body.set_record_id(record_id);
            body.set_digest(row.digest());
            body.set_log_index(log_size + 1);
            body.set_received_at(now - now % 3600);
            body.set_server_key_id(server_key_id_);
            *row.mutable_receipt() = crypto::SignReceipt(body, *receipt_key_);
            row.set_log_index(body.log_index());
            row.set_received_at(body.received_at());
            WriteBatch batch;
            batch.Put(keys::Record(device_id, record_id), row.SerializeAsString());
            batch.Put(keys::RecordIdIndex(record_id, device_id), "");
            batch.Put(keys::Log(body.log_index()), EncodeRecordRef(device_id, record_id));
            batch.Put(keys::ProjectLog(project->project_id(), body.log_index()),
                      EncodeRecordRef(device_id, record_id));
            batch.Delete(keys::PendingRecord(device_id, record_id));
            TEMOIN_RETURN_IF_ERROR(
                AddLogLeaves(registry_->store(), log_size,
                             {EncodeLogLeaf({.log_index = body.log_index(),
                                             .record_id = record_id,
                                             .digest = row.digest(),
                                             .device_id = device_id,
                                             .device_seq = header.device_seq(),
                                             .received_hour = body.received_at()})},
                             batch));
            device->set_highest_seq(std::max<uint64_t>(device->highest_seq(), header.device_seq()));
            batch.Put(keys::Device(device->device_id()), device->SerializeAsString());
            receipt = row.receipt();
            return LogAppend{std::move(batch), body.log_index()};
          })
          .status());
  return receipt;
}

v1::UploadResponse CompactUploadResponse(uint64_t batch_id, std::vector<v1::RecordResult> results,
                                         const std::string& batch_signature, bool positional) {
  v1::UploadResponse response;
  response.set_batch_id(batch_id);
  uint32_t next_leaf = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    v1::RecordResult& result = results[i];
    const v1::Receipt& receipt = result.receipt();
    // A repeat of a record inside the batch points at an earlier leaf: sent whole.
    if (!batch_signature.empty() && result.has_receipt() && receipt.leaf_count() > 0 &&
        receipt.signature() == batch_signature && receipt.leaf_index() == next_leaf) {
      v1::ReceiptBody body;
      if (body.ParseFromString(receipt.body())) {
        if (next_leaf == 0) {
          v1::BatchReceipt& batch = *response.mutable_batch_receipt();
          batch.set_received_at(body.received_at());
          batch.set_server_key_id(body.server_key_id());
          batch.set_signature(batch_signature);
          if (positional) response.set_first_log_index(body.log_index());
        }
        ++next_leaf;
        // Leaves take consecutive log indexes (Ingest::UploadBatch), so a positional
        // answer needs nothing for them.
        if (positional) continue;
        result.clear_receipt();
        result.set_log_index(body.log_index());
      }
    }
    if (positional) {
      result.clear_record_id();
      result.set_position(static_cast<uint32_t>(i));
    }
    *response.add_results() = std::move(result);
  }
  return response;
}

}  // namespace temoin::server
