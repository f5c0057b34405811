// Ingest::CommitLeaves: commitments in batch form (issue 13), one device signature for
// a batch and one commitment batch receipt down.
#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "crypto/commitment_batch.h"
#include "crypto/receipt.h"
#include "server/core/admin_ops.h"
#include "server/core/ingest.h"
#include "server/core/record_checks.h"
#include "server/core/sync_keys.h"

namespace temoin::server {
namespace {

// The stored row of a leaf: its digest, its commitment receipt, and the device's own
// signed word for it (leaf, path, batch signature), kept for audit.
v1::StoredCommitment LeafRow(const std::string& device_id, v1::CommitmentProof proof,
                             v1::Receipt receipt) {
  v1::StoredCommitment row;
  row.mutable_commitment()->set_digest(proof.leaf().digest());
  *row.mutable_receipt() = std::move(receipt);
  row.set_device_id(device_id);
  *row.mutable_proof() = std::move(proof);
  return row;
}

}  // namespace

absl::StatusOr<CommittedLeaves> Ingest::CommitLeaves(const Session& session,
                                                     const v1::CommitmentBatch& commitments) {
  TEMOIN_RETURN_IF_ERROR(RequireRole(session, v1::ROLE_MONITOR));
  if (static_cast<size_t>(commitments.leaves_size()) > limits_.max_commitments_per_batch) {
    return absl::ResourceExhaustedError(absl::StrCat("too many commitments in one batch (limit ",
                                                     limits_.max_commitments_per_batch, ")"));
  }
  TEMOIN_RETURN_IF_ERROR(rate_limiter_.AdmitBytes(session.device_id(), commitments.ByteSizeLong()));
  // The one signature first: nothing of a forged or altered batch is read or kept.
  TEMOIN_ASSIGN_OR_RETURN(
      std::vector<v1::CommitmentProof> proofs,
      crypto::VerifyCommitmentBatch(commitments, session.device.signing_public_key()));
  std::lock_guard lock(mu_);
  TEMOIN_RETURN_IF_ERROR(CheckDeviceActive(session));
  CommittedLeaves committed;
  committed.results.resize(proofs.size());
  TEMOIN_RETURN_IF_ERROR(AnswerLeaves(session.device_id(), proofs, committed));
  TEMOIN_RETURN_IF_ERROR(CommitFreshLeaves(session.device_id(), proofs, committed));
  metrics_->CountCommitments(CommitmentForm::kBatch, proofs.size());
  return committed;
}

absl::Status Ingest::AnswerLeaves(const std::string& device_id,
                                  std::vector<v1::CommitmentProof>& proofs,
                                  CommittedLeaves& committed) {
  const int64_t now = clock_->NowSeconds();
  std::map<std::string, int> first;  // record id -> the first leaf naming it
  std::vector<std::pair<int, int>> repeats;
  WriteBatch singles;
  for (int i = 0; i < static_cast<int>(proofs.size()); ++i) {
    const v1::CommitmentLeaf& leaf = proofs[i].leaf();
    v1::RecordResult& result = committed.results[i];
    result.set_record_id(leaf.record_id());
    if (auto [it, inserted] = first.emplace(leaf.record_id(), i); !inserted) {
      repeats.emplace_back(i, it->second);
      continue;
    }
    TEMOIN_ASSIGN_OR_RETURN(const bool answered,
                            AnswerFromHeld(device_id, leaf.record_id(), leaf.digest(), result));
    if (answered) continue;
    if (!result.awaiting_attachments()) {
      committed.fresh.push_back(i);
      continue;
    }
    // A body kept before bodies made their commitment rows: the answer must say it is
    // in (the device then skips it), so it gets a result, with a receipt of its own.
    *result.mutable_commitment_receipt() = crypto::SignReceipt(
        CommitmentReceiptBody(leaf.record_id(), leaf.digest(), now, server_key_id_), *receipt_key_,
        crypto::ReceiptKind::kCommitment);
    const std::string key = keys::Commitment(device_id, leaf.record_id());
    singles.Put(key,
                LeafRow(device_id, proofs[i], result.commitment_receipt()).SerializeAsString());
  }
  if (!singles.empty()) TEMOIN_RETURN_IF_ERROR(registry_->store().Commit(singles));
  // Answered after the fresh leaves are signed, below: see CommitFreshLeaves.
  committed.repeats = std::move(repeats);
  return absl::OkStatus();
}

absl::Status Ingest::CommitFreshLeaves(const std::string& device_id,
                                       std::vector<v1::CommitmentProof>& proofs,
                                       CommittedLeaves& committed) {
  if (!committed.fresh.empty()) {
    const int64_t now = clock_->NowSeconds();
    std::vector<v1::ReceiptBody> bodies;
    bodies.reserve(committed.fresh.size());
    for (int i : committed.fresh)
      bodies.push_back(CommitmentReceiptBody(proofs[i].leaf().record_id(),
                                             proofs[i].leaf().digest(), now, server_key_id_));
    std::vector<v1::Receipt> receipts =
        crypto::SignBatchReceipts(bodies, *receipt_key_, crypto::ReceiptKind::kCommitment);
    committed.batch_receipt.set_received_at(bodies[0].received_at());
    committed.batch_receipt.set_server_key_id(server_key_id_);
    committed.batch_receipt.set_signature(receipts[0].signature());
    WriteBatch batch;
    for (size_t k = 0; k < receipts.size(); ++k) {
      v1::RecordResult& result = committed.results[committed.fresh[k]];
      *result.mutable_commitment_receipt() = receipts[k];
      const std::string key = keys::Commitment(device_id, result.record_id());
      batch.Put(key, LeafRow(device_id, proofs[committed.fresh[k]], std::move(receipts[k]))
                         .SerializeAsString());
    }
    TEMOIN_RETURN_IF_ERROR(registry_->store().Commit(batch));
  }
  for (const auto& [i, earlier] : committed.repeats) {
    const bool same = proofs[i].leaf().digest() == proofs[earlier].leaf().digest();
    committed.results[i] = committed.results[earlier];
    if (!same) {
      committed.results[i].Clear();
      committed.results[i].set_record_id(proofs[i].leaf().record_id());
      SetError(committed.results[i],
               absl::FailedPreconditionError("record id named twice with different digests"));
    }
  }
  return absl::OkStatus();
}

v1::UploadResponse CompactCommitmentResponse(uint64_t batch_id, CommittedLeaves committed) {
  v1::UploadResponse response;
  response.set_batch_id(batch_id);
  std::vector<bool> fresh(committed.results.size(), false);
  for (int i : committed.fresh) fresh[i] = true;
  for (size_t i = 0; i < committed.results.size(); ++i) {
    if (fresh[i]) continue;
    v1::RecordResult& result = *response.add_results();
    result = std::move(committed.results[i]);
    result.clear_record_id();
    result.set_position(static_cast<uint32_t>(i));
  }
  if (!committed.fresh.empty()) {
    *response.mutable_commitment_batch_receipt() = std::move(committed.batch_receipt);
  }
  return response;
}

}  // namespace temoin::server
