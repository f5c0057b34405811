// Ingest::StoreBatch, the protocol's heart, step by step:
//   1. admit the batch (role, size, the device's rate, its project);
//   2. verify every body, with no lock held (one Ed25519 verify a record);
//   3. charge the device for the bytes that verified;
//   4. under the log's lock (Store::AppendToLog), answer each body from what is held,
//      hold it for its attachments, or log it; sign the ones logged now with one batch
//      signature, and add their leaves (Ingest::BodyBatch);
//   5. give a record named twice in the batch the answer of its first occurrence.
#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <system_error>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "crypto/receipt.h"
#include "server/core/admin_ops.h"
#include "server/core/ingest.h"
#include "server/core/record_checks.h"
#include "server/core/sync_keys.h"
#include "server/core/transparency_log.h"

namespace temoin::server {
namespace {

// Below this a second thread costs more than it saves (~50 µs a verify).
constexpr int kParallelVerifyMinRecords = 32;

using Envelopes = google::protobuf::RepeatedPtrField<v1::Envelope>;
using Verified = std::vector<std::optional<crypto::VerifiedRecord>>;

// Everything a record must satisfy before storage is touched. The first violation wins.
absl::StatusOr<crypto::VerifiedRecord> CheckRecord(const v1::Envelope& envelope,
                                                   const v1::StoredDevice& device,
                                                   const v1::StoredProject& project,
                                                   const IngestLimits& limits) {
  TEMOIN_ASSIGN_OR_RETURN(crypto::VerifiedRecord verified,
                          crypto::VerifyRecord(envelope, device.signing_public_key()));
  TEMOIN_RETURN_IF_ERROR(CheckHeader(verified.header, device, project, limits));
  return verified;
}

// Verifies records [begin, end): each gets its record id (when well-formed, so that
// results line up for the client) and either its verified header or its error.
void VerifyRange(const Envelopes& records, int begin, int end, const v1::StoredDevice& device,
                 const v1::StoredProject& project, const IngestLimits& limits,
                 std::vector<v1::RecordResult>& results, Verified& verified) {
  for (int i = begin; i < end; ++i) {
    absl::StatusOr<crypto::VerifiedRecord> checked =
        CheckRecord(records[i], device, project, limits);
    if (!checked.ok()) {
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
}

// Step 2. A large batch is verified on two threads: one Ed25519 verify a record is most
// of the server's work, and a device syncing alone would otherwise leave a core idle
// (docs/BENCHMARKS.md). Each half writes only its own slots.
Verified VerifyBodies(const Envelopes& records, const v1::StoredDevice& device,
                      const v1::StoredProject& project, const IngestLimits& limits,
                      std::vector<v1::RecordResult>& results) {
  const int n = records.size();
  Verified verified(n);
  std::jthread second_half;  // joined on every way out, an exception's too
  if (n >= kParallelVerifyMinRecords) {
    try {
      second_half = std::jthread(
          [&] { VerifyRange(records, n / 2, n, device, project, limits, results, verified); });
    } catch (const std::system_error&) {
      // No thread to be had (a loaded server): verify it all here rather than fail.
    }
  }
  VerifyRange(records, 0, second_half.joinable() ? n / 2 : n, device, project, limits, results,
              verified);
  if (second_half.joinable()) second_half.join();
  return verified;
}

// What the batch's builder reads for each verified record: its stored row, its pending
// row and its commitment, fetched at once (Store::Prefetch): with a remote database
// they were three round trips a record, under the log's lock (docs/BENCHMARKS.md).
std::vector<std::string> LookupKeys(absl::string_view device_id, const Verified& verified) {
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

// Step 5. A record named again in its batch (`repeats`) takes the whole answer of its
// first occurrence, which this batch logged or held: its receipt, or that it awaits its
// attachments with its commitment receipt.
void ShareFirstAnswers(const std::vector<int>& repeats, std::vector<v1::RecordResult>& results) {
  std::map<std::string, const v1::RecordResult*> first;
  for (const v1::RecordResult& result : results) {
    if (result.code() == 0 && (result.has_receipt() || result.awaiting_attachments()))
      first.emplace(result.record_id(), &result);
  }
  for (int i : repeats) {
    auto it = first.find(results[i].record_id());
    if (it != first.end() && it->second != &results[i]) results[i] = *it->second;
  }
}

}  // namespace

// Step 4: the one write that stores a batch of verified bodies, built under the log's
// lock. Every lookup is in the session device's namespace: what other devices stored
// never changes an answer (no squatting, no existence oracle). Each record is, in
// request order:
//   - answered from what is held: a body stored before (its receipt), a body held
//     awaiting attachments (its commitment receipt), or an earlier record of this batch
//     (its answer, after the commit); or refused as a conflict, the envelope kept as
//     evidence, when the digest differs from what is held or what its commitment fixed;
//   - held for its attachments (a pending row and one row a blob);
//   - or logged: the next log index, a leaf, and a receipt under the batch's one
//     signature.
class Ingest::BodyBatch {
 public:
  BodyBatch(const Ingest& ingest, const Session& session, const v1::StoredProject& project,
            const Envelopes& records, const Verified& verified,
            std::vector<v1::RecordResult>& results, std::vector<bool>& stored_now,
            std::string* batch_signature)
      : ingest_(ingest),
        store_(ingest.registry_->store()),
        device_id_(session.device_id()),
        project_(project),
        records_(records),
        verified_(verified),
        results_(results),
        stored_now_(stored_now),
        batch_signature_(batch_signature) {}

  // The write for a log of `log_size` leaves. Once: a BodyBatch is made for each call of
  // Store::AppendToLog's builder.
  absl::StatusOr<LogAppend> Build(uint64_t log_size) {
    next_index_ = log_size;
    TEMOIN_RETURN_IF_ERROR(ReadDeviceState());
    TEMOIN_RETURN_IF_ERROR(store_.Prefetch(LookupKeys(device_id_, verified_)));
    for (int i = 0; i < records_.size(); ++i) {
      if (verified_[i].has_value()) TEMOIN_RETURN_IF_ERROR(Place(i));
    }
    TEMOIN_RETURN_IF_ERROR(SignReceipts());
    TEMOIN_RETURN_IF_ERROR(AddLeavesAndDevice(log_size));
    return LogAppend{std::move(batch_), next_index_};
  }

  // Records named again after an earlier record of this batch logged or held them:
  // their answer is that one's, after the commit (ShareFirstAnswers).
  std::vector<int> TakeRepeats() { return std::move(repeats_); }

 private:
  // What the server holds under a record id before this record is placed.
  struct Held {
    std::optional<v1::StoredRecord> stored;
    bool pending = false;               // a committed body held awaiting its attachments (pnd/)
    bool in_batch = false;              // logged or held by an earlier record of this batch
    std::optional<std::string> digest;  // of any of those
  };

  // Re-reads the device under the lock: the session's copy was taken when the token was
  // checked, and writing it back could undo a revocation or lower highest_seq. Also the
  // batch's time and the device's duress mark.
  absl::Status ReadDeviceState() {
    TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::StoredDevice> current,
                            ingest_.registry_->Device(device_id_));
    if (!current.has_value()) return absl::UnauthenticatedError("session token is not valid");
    if (current->revoked()) return absl::PermissionDeniedError("device has been revoked");
    device_ = std::move(*current);
    highest_seq_ = device_.highest_seq();
    now_ = ingest_.clock_->NowSeconds();
    received_at_ = now_ - now_ % 3600;  // to the hour: no finer timing kept
    // Issue 12: after a duress signal, everything this device sends is quarantined.
    TEMOIN_ASSIGN_OR_RETURN(duress_since_, ingest_.registry_->DuressSince(device_id_));
    return absl::OkStatus();
  }

  absl::Status Place(int i) {
    const crypto::VerifiedRecord& record = *verified_[i];
    TEMOIN_ASSIGN_OR_RETURN(Held held, ReadHeld(record.header.record_id()));
    if (held.digest.has_value()) {
      if (*held.digest != record.digest) return KeepConflict(i);
      return AnswerRepeat(i, held);
    }
    // A body must match what its commitment fixed.
    TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::StoredCommitment> commitment,
                            ingest_.HeldCommitment(device_id_, record.header.record_id()));
    if (commitment.has_value() && commitment->commitment().digest() != record.digest) {
      return KeepConflict(i);
    }
    if (record.header.attachments_size() > 0) return HoldForAttachments(i);
    AppendLeaf(i);
    return absl::OkStatus();
  }

  absl::StatusOr<Held> ReadHeld(const std::string& id) {
    Held held;
    TEMOIN_ASSIGN_OR_RETURN(held.stored, ingest_.registry_->Record(device_id_, id));
    if (held.stored.has_value()) held.digest = held.stored->digest();
    if (auto it = digest_in_batch_.find(id); it != digest_in_batch_.end()) {
      held.in_batch = true;
      held.digest = it->second;
    }
    TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> pending_row,
                            store_.Get(keys::PendingRecord(device_id_, id)));
    held.pending = pending_row.has_value();
    if (!held.digest.has_value() && held.pending) {
      v1::StoredRecord pending;
      if (!pending.ParseFromString(*pending_row)) {
        return absl::DataLossError("stored value does not parse: StoredRecord");
      }
      held.digest = pending.digest();
    }
    return held;
  }

  // The same record again: the answer it got before. (A record this batch logged or
  // held has no committed row yet, so `in_batch` excludes the other two.)
  absl::Status AnswerRepeat(int i, const Held& held) {
    if (held.stored.has_value()) {
      *results_[i].mutable_receipt() = held.stored->receipt();
    } else if (held.in_batch) {
      repeats_.push_back(i);
    } else {  // held.pending
      results_[i].set_awaiting_attachments(true);
      TEMOIN_RETURN_IF_ERROR(AddCommitmentReceipt(i));
    }
    return absl::OkStatus();
  }

  // The conflicting envelope is kept as evidence; the record is refused.
  absl::Status KeepConflict(int i) {
    const crypto::VerifiedRecord& record = *verified_[i];
    batch_.Put(keys::Conflict(device_id_, record.header.record_id(), record.digest),
               records_[i].SerializeAsString());
    SetError(results_[i], absl::FailedPreconditionError(kConflictMessage));
    return absl::OkStatus();
  }

  v1::StoredRecord NewRow(int i) const {
    const crypto::VerifiedRecord& record = *verified_[i];
    v1::StoredRecord row;
    *row.mutable_envelope() = records_[i];
    row.set_digest(record.digest);
    row.set_project(project_.name());
    row.set_device_id(device_id_);
    row.set_device_seq(record.header.device_seq());
    row.set_quarantined(duress_since_ != 0);
    return row;
  }

  // Kept durably now; its log index and receipt come once every blob is in and verified
  // (Ingest::PromoteIfComplete).
  absl::Status HoldForAttachments(int i) {
    const crypto::VerifiedRecord& record = *verified_[i];
    const std::string& id = record.header.record_id();
    absl::Status free = CheckBlobIdsFree(store_, device_id_, record.header, blobs_in_batch_);
    if (!free.ok()) {
      if (free.code() != absl::StatusCode::kInvalidArgument) return free;  // storage
      SetError(results_[i], free);
      return absl::OkStatus();
    }
    for (const v1::AttachmentRef& ref : record.header.attachments()) {
      blobs_in_batch_.insert(ref.blob_id());
      v1::StoredBlob blob;
      blob.set_record_id(id);
      blob.set_device_id(device_id_);
      blob.set_size(ref.size());
      blob.set_ciphertext_hash(ref.ciphertext_hash());
      batch_.Put(keys::Blob(device_id_, ref.blob_id()), blob.SerializeAsString());
    }
    batch_.Put(keys::PendingRecord(device_id_, id), NewRow(i).SerializeAsString());
    results_[i].set_awaiting_attachments(true);
    // Stored now, so none of its blobs' bytes are (CheckBlobIdsFree), and the body fixes
    // what its commitment would: the device sends neither a commitment before it nor a
    // QueryAttachments after it (issue 13).
    results_[i].set_no_attachment_bytes_held(true);
    TEMOIN_RETURN_IF_ERROR(AddCommitmentReceipt(i));
    digest_in_batch_[id] = record.digest;
    stored_now_[i] = true;
    return absl::OkStatus();
  }

  // The commitment receipt of a body held awaiting its attachments (none when a
  // commitment of another digest holds the id).
  absl::Status AddCommitmentReceipt(int i) {
    const crypto::VerifiedRecord& record = *verified_[i];
    TEMOIN_ASSIGN_OR_RETURN(
        std::optional<v1::Receipt> committed,
        ingest_.CommitmentReceiptFor(device_id_, records_[i], record.header.record_id(),
                                     record.digest, now_, batch_));
    if (committed.has_value()) *results_[i].mutable_commitment_receipt() = *std::move(committed);
    return absl::OkStatus();
  }

  // Logs the record now: the next log index, its leaf and index rows. The row itself is
  // written once the batch is signed (SignReceipts).
  void AppendLeaf(int i) {
    const crypto::VerifiedRecord& record = *verified_[i];
    const std::string& id = record.header.record_id();
    v1::ReceiptBody body;
    body.set_format_version(1);
    body.set_record_id(id);
    body.set_digest(record.digest);
    body.set_log_index(++next_index_);
    body.set_received_at(received_at_);
    body.set_server_key_id(ingest_.server_key_id_);
    v1::StoredRecord row = NewRow(i);
    row.set_log_index(body.log_index());
    row.set_received_at(received_at_);
    leaves_.push_back(EncodeLogLeaf({.log_index = body.log_index(),
                                     .record_id = id,
                                     .digest = record.digest,
                                     .device_id = device_id_,
                                     .device_seq = record.header.device_seq(),
                                     .received_hour = received_at_}));
    batch_.Put(keys::Log(body.log_index()), EncodeRecordRef(device_id_, id));
    batch_.Put(keys::ProjectLog(project_.project_id(), body.log_index()),
               EncodeRecordRef(device_id_, id));
    bodies_.push_back(std::move(body));
    rows_.emplace_back(i, std::move(row));
    stored_now_[i] = true;
    digest_in_batch_[id] = record.digest;
    highest_seq_ = std::max<uint64_t>(highest_seq_, record.header.device_seq());
  }

  // One signature for every record this batch logs (crypto/receipt.h); each row keeps
  // its own self-contained receipt.
  absl::Status SignReceipts() {
    if (bodies_.empty()) return absl::OkStatus();
    std::vector<v1::Receipt> receipts = crypto::SignBatchReceipts(bodies_, *ingest_.receipt_key_);
    if (receipts.size() != rows_.size()) return absl::InternalError("batch receipt failed");
    for (size_t j = 0; j < rows_.size(); ++j) {
      auto& [i, row] = rows_[j];
      *row.mutable_receipt() = std::move(receipts[j]);
      batch_.Put(keys::Record(device_id_, results_[i].record_id()), row.SerializeAsString());
      batch_.Put(keys::RecordIdIndex(results_[i].record_id(), device_id_), "");
      *results_[i].mutable_receipt() = row.receipt();
    }
    if (batch_signature_ != nullptr) *batch_signature_ = rows_.front().second.receipt().signature();
    return absl::OkStatus();
  }

  // The log's new leaves and tree nodes, and the device's row with its highest sequence
  // number.
  absl::Status AddLeavesAndDevice(uint64_t log_size) {
    if (next_index_ == log_size) return absl::OkStatus();
    TEMOIN_RETURN_IF_ERROR(AddLogLeaves(store_, log_size, leaves_, batch_));
    device_.set_highest_seq(highest_seq_);
    batch_.Put(keys::Device(device_.device_id()), device_.SerializeAsString());
    return absl::OkStatus();
  }

  const Ingest& ingest_;
  Store& store_;
  const std::string& device_id_;
  const v1::StoredProject& project_;
  const Envelopes& records_;
  const Verified& verified_;
  std::vector<v1::RecordResult>& results_;
  std::vector<bool>& stored_now_;
  std::string* const batch_signature_;

  v1::StoredDevice device_;  // as stored now (ReadDevice)
  int64_t now_ = 0;
  int64_t received_at_ = 0;
  int64_t duress_since_ = 0;
  uint64_t highest_seq_ = 0;
  uint64_t next_index_ = 0;
  WriteBatch batch_;
  std::map<std::string, std::string> digest_in_batch_;  // record id -> digest
  std::set<std::string> blobs_in_batch_;                // blob ids claimed by this batch
  std::vector<std::string> leaves_;                     // of the records logged, in order
  std::vector<v1::ReceiptBody> bodies_;                 // of the records logged
  std::vector<std::pair<int, v1::StoredRecord>> rows_;  // result index, row
  std::vector<int> repeats_;
};

absl::StatusOr<std::vector<v1::RecordResult>> Ingest::StoreBatch(const Session& session,
                                                                 const Envelopes& records,
                                                                 std::string* batch_signature,
                                                                 bool relayed,
                                                                 std::vector<bool>& stored_now) {
  TEMOIN_ASSIGN_OR_RETURN(v1::StoredProject project, AdmitBodies(session, records.size(), relayed));
  std::vector<v1::RecordResult> results(records.size());
  const Verified verified = VerifyBodies(records, session.device, project, limits_, results);
  TEMOIN_RETURN_IF_ERROR(ChargeVerifiedBytes(session, records, verified, relayed));

  std::lock_guard lock(mu_);
  TEMOIN_RETURN_IF_ERROR(CheckLogFormatLocked());
  std::vector<int> repeats;
  const auto commit_start = std::chrono::steady_clock::now();
  absl::StatusOr<uint64_t> appended =
      registry_->store().AppendToLog([&](uint64_t log_size) -> absl::StatusOr<LogAppend> {
        BodyBatch bodies(*this, session, project, records, verified, results, stored_now,
                         batch_signature);
        absl::StatusOr<LogAppend> append = bodies.Build(log_size);
        repeats = bodies.TakeRepeats();
        return append;
      });
  metrics_->ObserveCommitSeconds(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - commit_start).count());
  // A failed commit acknowledges nothing of this batch: the client keeps its copies
  // and retries.
  if (!appended.ok()) return appended.status();
  ShareFirstAnswers(repeats, results);
  return results;
}

absl::StatusOr<v1::StoredProject> Ingest::AdmitBodies(const Session& session, int count,
                                                      bool relayed) {
  TEMOIN_RETURN_IF_ERROR(RequireRole(session, v1::ROLE_MONITOR));
  if (static_cast<size_t>(count) > limits_.max_records_per_batch) {
    return absl::ResourceExhaustedError(
        absl::StrCat("too many records in one batch (limit ", limits_.max_records_per_batch, ")"));
  }
  // The device that sent the batch pays for the batch itself (its verification work)
  // up front, and is refused once its daily quota is used up; its bytes are charged
  // after verification, only for records whose signature verifies. A relayed bundle's
  // named device sent nothing: it pays only for its verified records (the carrier pays
  // the bundle's bytes, ImportBundle).
  if (!relayed) TEMOIN_RETURN_IF_ERROR(rate_limiter_.AdmitBatch(session.device_id(), 0));
  TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::StoredProject> project,
                          registry_->ProjectById(session.device.project_id()));
  if (!project.has_value()) return absl::FailedPreconditionError("device has no project");
  return *std::move(project);
}

absl::Status Ingest::ChargeVerifiedBytes(const Session& session, const Envelopes& records,
                                         const Verified& verified, bool relayed) {
  uint64_t verified_bytes = 0;
  for (int i = 0; i < records.size(); ++i) {
    if (verified[i].has_value()) verified_bytes += records[i].ByteSizeLong();
  }
  if (relayed) {
    if (verified_bytes == 0) return absl::OkStatus();
    return rate_limiter_.AdmitBatch(session.device_id(), verified_bytes);
  }
  return rate_limiter_.AdmitBytes(session.device_id(), verified_bytes);
}

}  // namespace temoin::server
