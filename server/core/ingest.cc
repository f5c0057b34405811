#include "server/core/ingest.h"

#include <chrono>
#include <map>
#include <set>
#include <system_error>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "crypto/envelope.h"
#include "crypto/receipt.h"
#include "server/core/admin_ops.h"
#include "server/core/sync_keys.h"
#include "server/core/transparency_log.h"

namespace temoin::server {
namespace {

constexpr absl::string_view kRecordSignatureContext = "temoin/record/v1";
constexpr absl::string_view kConflict = "record id already stored with different content";
// Below this a second thread costs more than it saves (~50 µs a verify).
constexpr int kParallelVerifyMinRecords = 32;

void SetError(v1::RecordResult& result, const absl::Status& status) {
  result.set_code(static_cast<int32_t>(status.code()));
  result.set_message(std::string(status.message()));
}

// Header checks shared by records and commitments: ids, project, recipient keys and
// attachment sizes. The signature is checked by the caller.
absl::Status CheckHeader(const v1::RecordHeader& header, const v1::StoredDevice& device,
                         const v1::StoredProject& project, const IngestLimits& limits) {
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
  for (const v1::AttachmentRef& ref : header.attachments()) {
    if (ref.size() > limits.max_attachment_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "attachment size is over this server's limit (", limits.max_attachment_bytes, " bytes)"));
    }
  }
  return absl::OkStatus();
}

// Everything a record must satisfy before storage is touched. The first violation wins.
// What UploadBatch's builder reads for each verified record: its stored row, its pending
// row and its commitment (Store::Prefetch).
std::vector<std::string> LookupKeys(
    absl::string_view device_id,
    const std::vector<std::optional<crypto::VerifiedRecord>>& verified) {
  std::vector<std::string> wanted;
  for (const std::optional<crypto::VerifiedRecord>& record : verified) {
    if (!record.has_value()) continue;
    const std::string& id = record->header.record_id();
    wanted.push_back(keys::Record(device_id, id));
    wanted.push_back(keys::PendingRecord(device_id, id));
    wanted.push_back(keys::Commitment(device_id, id));
  }
  return wanted;
}

absl::StatusOr<crypto::VerifiedRecord> CheckRecord(const v1::Envelope& envelope,
                                                   const v1::StoredDevice& device,
                                                   const v1::StoredProject& project,
                                                   const IngestLimits& limits) {
  TEMOIN_ASSIGN_OR_RETURN(crypto::VerifiedRecord verified,
                          crypto::VerifyRecord(envelope, device.signing_public_key()));
  TEMOIN_RETURN_IF_ERROR(CheckHeader(verified.header, device, project, limits));
  return verified;
}

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

// A blob id names one blob of one record of this device, for good: a record may not
// take an id already stored (its blob row would be overwritten and the first record
// receipted with an attachment never checked against its header), nor one an earlier
// record of the same batch claimed, nor the same id twice. The later record is refused
// and the earlier keeps its blob, as if they had come in separate batches: the answer
// does not depend on how the client cut its batches. kInvalidArgument naming the blob
// id (hex; the server stores it anyway, and it reveals nothing of the content), or the
// store's error.
absl::Status CheckBlobIdsFree(Store& store, absl::string_view device_id,
                              const v1::RecordHeader& header,
                              const std::set<std::string>& claimed_in_batch) {
  std::set<std::string> in_record;
  for (const v1::AttachmentRef& ref : header.attachments()) {
    if (claimed_in_batch.contains(ref.blob_id()) || !in_record.insert(ref.blob_id()).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("attachment blob_id ", ToHex(ref.blob_id()),
                       " is used by another attachment of this batch"));
    }
    TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> existing,
                            store.Get(keys::Blob(device_id, ref.blob_id())));
    if (existing.has_value()) {
      return absl::InvalidArgumentError(
          absl::StrCat("attachment blob_id ", ToHex(ref.blob_id()), " is already in use"));
    }
  }
  return absl::OkStatus();
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
    } else if (code == absl::StatusCode::kFailedPrecondition && result.message() == kConflict) {
      metrics_->CountRecord(RecordOutcome::kConflicting, code);
    } else {
      metrics_->CountRecord(RecordOutcome::kRefused, code);
    }
  }
}

absl::StatusOr<std::vector<v1::RecordResult>> Ingest::StoreBatch(
    const Session& session, const google::protobuf::RepeatedPtrField<v1::Envelope>& records,
    std::string* batch_signature, bool relayed, std::vector<bool>& stored_now) {
  TEMOIN_RETURN_IF_ERROR(RequireRole(session, v1::ROLE_MONITOR));
  if (static_cast<size_t>(records.size()) > limits_.max_records_per_batch) {
    return absl::ResourceExhaustedError(
        absl::StrCat("too many records in one batch (limit ", limits_.max_records_per_batch, ")"));
  }
  // The device that sent the batch pays for the batch itself (its verification work)
  // up front, and is refused once its daily quota is used up; its bytes are charged
  // below, only for records whose signature verifies. A relayed bundle's named device
  // sent nothing: it pays only for its verified records (the carrier pays the bundle's
  // bytes, ImportBundle).
  if (!relayed) TEMOIN_RETURN_IF_ERROR(rate_limiter_.AdmitBatch(session.device_id(), 0));
  TEMOIN_ASSIGN_OR_RETURN(auto project, registry_->ProjectById(session.device.project_id()));
  if (!project.has_value()) return absl::FailedPreconditionError("device has no project");

  std::vector<v1::RecordResult> results(records.size());
  // Verification is the expensive part and needs no lock.
  std::vector<std::optional<crypto::VerifiedRecord>> verified(records.size());
  auto verify_range = [&](int begin, int end) {
    for (int i = begin; i < end; ++i) {
      absl::StatusOr<crypto::VerifiedRecord> checked =
          CheckRecord(records[i], session.device, *project, limits_);
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
  };
  // A large batch is verified on two threads: one Ed25519 verify a record is most of
  // the server's work, and a device syncing alone would otherwise leave a core idle
  // (docs/BENCHMARKS.md). Each half writes only its own slots.
  const int n = records.size();
  std::thread second_half;
  if (n >= kParallelVerifyMinRecords) {
    try {
      second_half = std::thread(verify_range, n / 2, n);
    } catch (const std::system_error&) {
      // No thread to be had (a loaded server): verify it all here rather than fail.
    }
  }
  verify_range(0, second_half.joinable() ? n / 2 : n);
  if (second_half.joinable()) second_half.join();
  uint64_t verified_bytes = 0;
  for (int i = 0; i < n; ++i) {
    if (verified[i].has_value()) verified_bytes += records[i].ByteSizeLong();
  }
  if (relayed && verified_bytes > 0) {
    TEMOIN_RETURN_IF_ERROR(rate_limiter_.AdmitBatch(session.device_id(), verified_bytes));
  } else if (!relayed) {
    TEMOIN_RETURN_IF_ERROR(rate_limiter_.AdmitBytes(session.device_id(), verified_bytes));
  }

  std::lock_guard lock(mu_);
  TEMOIN_RETURN_IF_ERROR(CheckLogFormatLocked());
  std::vector<int> fresh;  // results to complete after the commit
  // Everything from here to the commit runs under the log's lock (Store::AppendToLog):
  // the leaves this batch adds take the next indexes, with several front-ends too.
  const auto commit_start = std::chrono::steady_clock::now();
  absl::StatusOr<uint64_t> appended =
      registry_->store().AppendToLog([&](uint64_t log_size) -> absl::StatusOr<LogAppend> {
        // Re-read the device under the lock: the session's copy was taken when the token was
        // checked, and writing it back could undo a revocation or lower highest_seq.
        TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::StoredDevice> current,
                                registry_->Device(session.device_id()));
        if (!current.has_value()) return absl::UnauthenticatedError("session token is not valid");
        if (current->revoked()) return absl::PermissionDeniedError("device has been revoked");
        int64_t now = clock_->NowSeconds();
        int64_t received_at = now - now % 3600;  // to the hour: no finer timing kept
        // Every lookup is in this device's namespace: what other devices stored never
        // changes an answer (no squatting, no existence oracle).
        const std::string& device_id = session.device_id();
        WriteBatch batch;
        uint64_t next_index = log_size;
        std::vector<std::string> leaves;  // of the records logged now, in index order
        uint64_t highest_seq = current->highest_seq();
        // Issue 12: after a duress signal, everything this device sends is quarantined.
        TEMOIN_ASSIGN_OR_RETURN(int64_t duress_since, registry_->DuressSince(device_id));
        std::map<std::string, std::string> digest_in_batch;  // record id -> digest
        std::set<std::string> blobs_in_batch;                // blob ids claimed by this batch
        std::vector<v1::ReceiptBody> bodies;                 // of the records stored now
        std::vector<std::pair<int, v1::StoredRecord>> rows;  // result index, row
        // Each record's three lookups at once: with a remote database they were three
        // round trips a record, under the log's lock (docs/BENCHMARKS.md).
        TEMOIN_RETURN_IF_ERROR(registry_->store().Prefetch(LookupKeys(device_id, verified)));
        for (int i = 0; i < records.size(); ++i) {
          if (!verified[i].has_value()) continue;
          const crypto::VerifiedRecord& record = *verified[i];
          const std::string& id = record.header.record_id();
          TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::StoredRecord> stored,
                                  registry_->Record(device_id, id));
          std::optional<std::string> earlier_digest;
          if (stored.has_value()) earlier_digest = stored->digest();
          if (auto it = digest_in_batch.find(id); it != digest_in_batch.end()) {
            earlier_digest = it->second;
          }
          TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> pending_row,
                                  registry_->store().Get(keys::PendingRecord(device_id, id)));
          if (!earlier_digest.has_value() && pending_row.has_value()) {
            v1::StoredRecord pending;
            if (!pending.ParseFromString(*pending_row)) {
              return absl::DataLossError("stored value does not parse: StoredRecord");
            }
            earlier_digest = pending.digest();
          }
          if (!earlier_digest.has_value()) {
            // A body must match what its commitment fixed.
            TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::StoredCommitment> commitment,
                                    HeldCommitment(device_id, id));
            if (commitment.has_value() && commitment->commitment().digest() != record.digest) {
              batch.Put(keys::Conflict(device_id, id, record.digest),
                        records[i].SerializeAsString());
              SetError(results[i], absl::FailedPreconditionError(kConflict));
              continue;
            }
          }
          if (earlier_digest.has_value()) {
            if (*earlier_digest == record.digest) {
              if (stored.has_value())
                *results[i].mutable_receipt() = stored->receipt();
              else if (pending_row.has_value() && !digest_in_batch.count(id)) {
                results[i].set_awaiting_attachments(true);
                TEMOIN_ASSIGN_OR_RETURN(
                    std::optional<v1::Receipt> committed,
                    CommitmentReceiptFor(device_id, records[i], id, record.digest, now, batch));
                if (committed.has_value()) *results[i].mutable_commitment_receipt() = *committed;
              } else
                fresh.push_back(i);  // same record twice in one batch: same result below
              continue;
            }
            batch.Put(keys::Conflict(device_id, id, record.digest), records[i].SerializeAsString());
            SetError(results[i], absl::FailedPreconditionError(kConflict));
            continue;
          }
          v1::StoredRecord row;
          *row.mutable_envelope() = records[i];
          row.set_digest(record.digest);
          row.set_project(project->name());
          row.set_device_id(device_id);
          row.set_device_seq(record.header.device_seq());
          row.set_quarantined(duress_since != 0);
          if (record.header.attachments_size() > 0) {
            // Kept durably now; log index and receipt once every blob is in and verified.
            absl::Status free =
                CheckBlobIdsFree(registry_->store(), device_id, record.header, blobs_in_batch);
            if (!free.ok()) {
              if (free.code() != absl::StatusCode::kInvalidArgument) return free;  // storage
              SetError(results[i], free);
              continue;
            }
            for (const v1::AttachmentRef& ref : record.header.attachments()) {
              blobs_in_batch.insert(ref.blob_id());
              v1::StoredBlob blob;
              blob.set_record_id(id);
              blob.set_device_id(device_id);
              blob.set_size(ref.size());
              blob.set_ciphertext_hash(ref.ciphertext_hash());
              batch.Put(keys::Blob(device_id, ref.blob_id()), blob.SerializeAsString());
            }
            batch.Put(keys::PendingRecord(device_id, id), row.SerializeAsString());
            results[i].set_awaiting_attachments(true);
            // Stored now, so none of its blobs' bytes are (CheckBlobIdsFree), and the
            // body fixes what its commitment would: the device sends neither a
            // commitment before it nor a QueryAttachments after it (issue 13).
            results[i].set_no_attachment_bytes_held(true);
            TEMOIN_ASSIGN_OR_RETURN(
                std::optional<v1::Receipt> committed,
                CommitmentReceiptFor(device_id, records[i], id, record.digest, now, batch));
            if (committed.has_value()) *results[i].mutable_commitment_receipt() = *committed;
            digest_in_batch[id] = record.digest;
            stored_now[i] = true;
            continue;
          }
          v1::ReceiptBody body;
          body.set_format_version(1);
          body.set_record_id(id);
          body.set_digest(record.digest);
          body.set_log_index(++next_index);
          body.set_received_at(received_at);
          body.set_server_key_id(server_key_id_);
          row.set_log_index(body.log_index());
          row.set_received_at(received_at);
          leaves.push_back(EncodeLogLeaf({.log_index = body.log_index(),
                                          .record_id = id,
                                          .digest = record.digest,
                                          .device_id = device_id,
                                          .device_seq = record.header.device_seq(),
                                          .received_hour = received_at}));
          batch.Put(keys::Log(body.log_index()), EncodeRecordRef(device_id, id));
          batch.Put(keys::ProjectLog(project->project_id(), body.log_index()),
                    EncodeRecordRef(device_id, id));
          bodies.push_back(std::move(body));
          rows.emplace_back(i, std::move(row));
          stored_now[i] = true;
          digest_in_batch[id] = record.digest;
          highest_seq = std::max<uint64_t>(highest_seq, record.header.device_seq());
          fresh.push_back(i);
        }
        // One signature for every record this batch stores (crypto/receipt.h); each row
        // keeps its own self-contained receipt.
        if (!bodies.empty()) {
          std::vector<v1::Receipt> receipts = crypto::SignBatchReceipts(bodies, *receipt_key_);
          if (receipts.size() != rows.size()) return absl::InternalError("batch receipt failed");
          for (size_t j = 0; j < rows.size(); ++j) {
            auto& [i, row] = rows[j];
            *row.mutable_receipt() = std::move(receipts[j]);
            batch.Put(keys::Record(device_id, results[i].record_id()), row.SerializeAsString());
            batch.Put(keys::RecordIdIndex(results[i].record_id(), device_id), "");
            *results[i].mutable_receipt() = row.receipt();
          }
          if (batch_signature != nullptr)
            *batch_signature = rows.front().second.receipt().signature();
        }
        if (next_index != log_size) {
          TEMOIN_RETURN_IF_ERROR(AddLogLeaves(registry_->store(), log_size, leaves, batch));
          current->set_highest_seq(highest_seq);
          batch.Put(keys::Device(current->device_id()), current->SerializeAsString());
        }
        return LogAppend{std::move(batch), next_index};
      });
  metrics_->ObserveCommitSeconds(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - commit_start).count());
  // A failed commit acknowledges nothing of this batch: the client keeps its copies
  // and retries.
  if (!appended.ok()) return appended.status();
  // Duplicates inside the batch take the result of their first occurrence.
  std::map<std::string, const v1::RecordResult*> first;
  for (int i = 0; i < records.size(); ++i) {
    if (results[i].code() == 0 && (results[i].has_receipt() || results[i].awaiting_attachments()))
      first.emplace(results[i].record_id(), &results[i]);
  }
  for (int i : fresh) {
    if (results[i].has_receipt() || results[i].awaiting_attachments()) continue;
    auto it = first.find(results[i].record_id());
    if (it == first.end()) continue;
    if (it->second->has_receipt()) *results[i].mutable_receipt() = it->second->receipt();
    results[i].set_awaiting_attachments(it->second->awaiting_attachments());
  }
  return results;
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
      SetError(result, absl::FailedPreconditionError(kConflict));
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
    SetError(result, absl::FailedPreconditionError(kConflict));
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
