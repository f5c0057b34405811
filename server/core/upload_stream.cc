#include "server/core/upload_stream.h"

#include <algorithm>
#include <utility>

#include "server/core/ingest.h"

namespace temoin::server {
namespace {

// GetLogProofs' limit on indexes in one request (Core::GetLogProofs).
constexpr size_t kMaxProvenIndexes = 1024;

}  // namespace

absl::StatusOr<v1::UploadResponse> UploadStream::Answer(const Session& session,
                                                        const v1::UploadRequest& request) {
  if (request.has_log()) return AnswerClosing(session, request);
  if (closed_) return absl::InvalidArgumentError("no batch may follow an upload's closing request");
  if (request.records_size() > 0 && request.commitments_size() > 0) {
    return absl::InvalidArgumentError("a batch carries records or commitments, not both");
  }
  if (request.commitments_size() > 0) return AnswerCommitments(session, request);
  return AnswerBodies(session, request);
}

absl::StatusOr<v1::UploadResponse> UploadStream::AnswerCommitments(
    const Session& session, const v1::UploadRequest& request) {
  absl::StatusOr<std::vector<v1::RecordResult>> results =
      core_.ingest().CommitBatch(session, request.commitments());
  if (!results.ok()) return results.status();
  RememberLogIndexes(*results);
  return CompactUploadResponse(request.batch_id(), std::move(*results), "");
}

absl::StatusOr<v1::UploadResponse> UploadStream::AnswerBodies(const Session& session,
                                                              const v1::UploadRequest& request) {
  std::string batch_signature;
  absl::StatusOr<std::vector<v1::RecordResult>> results =
      core_.ingest().UploadBatch(session, request.records(), &batch_signature);
  if (!results.ok()) return results.status();
  RememberLogIndexes(*results);
  return CompactUploadResponse(request.batch_id(), std::move(*results), batch_signature,
                               request.positional_results() && request.records_size() > 0);
}

// Before compaction every receipted record still names its log index: a batch leaf in
// `log_index`, a whole receipt (a duplicate's, or a commitment's record already held)
// in its body.
void UploadStream::RememberLogIndexes(const std::vector<v1::RecordResult>& results) {
  for (const v1::RecordResult& result : results) {
    if (result.code() != 0 || answered_log_indexes_.size() > kMaxProvenIndexes) continue;
    uint64_t index = result.log_index();
    v1::ReceiptBody body;
    if (index == 0 && result.has_receipt() && body.ParseFromString(result.receipt().body())) {
      index = body.log_index();
    }
    if (index != 0) answered_log_indexes_.push_back(index);
  }
}

absl::StatusOr<v1::UploadResponse> UploadStream::AnswerClosing(const Session& session,
                                                               const v1::UploadRequest& request) {
  if (request.records_size() > 0 || request.commitments_size() > 0) {
    return absl::InvalidArgumentError("an upload's closing request carries no records");
  }
  if (closed_) return absl::InvalidArgumentError("an upload closes once");
  closed_ = true;
  v1::UploadResponse response;
  response.set_batch_id(request.batch_id());
  v1::GetLogProofsRequest proofs = request.log();
  if (opened_tree_size_ > proofs.old_size()) proofs.set_old_size(opened_tree_size_);
  for (uint64_t index : answered_log_indexes_) proofs.add_log_indexes(index);
  std::sort(proofs.mutable_log_indexes()->begin(), proofs.mutable_log_indexes()->end());
  proofs.mutable_log_indexes()->erase(
      std::unique(proofs.mutable_log_indexes()->begin(), proofs.mutable_log_indexes()->end()),
      proofs.mutable_log_indexes()->end());
  // Too many for one answer: none, and the device asks with GetLogProofs in groups.
  if (proofs.log_indexes().empty() ||
      static_cast<size_t>(proofs.log_indexes_size()) > kMaxProvenIndexes) {
    return response;
  }
  proofs.set_joint(true);
  proofs.set_checkpoint_only(false);
  absl::StatusOr<v1::GetLogProofsResponse> log =
      core_.GetLogProofs(session, proofs, LogProofsVia::kUploadStream);
  if (!log.ok()) return log.status();
  *response.mutable_log() = *std::move(log);
  return response;
}

}  // namespace temoin::server
