#include "server/core/upload_stream.h"

#include <utility>

#include "server/core/ingest.h"

namespace temoin::server {
absl::StatusOr<v1::UploadResponse> UploadStream::Answer(const Session& session,
                                                        const v1::UploadRequest& request) {
  if (request.has_log()) return AnswerClosing(session, request);
  if (closed_) return absl::InvalidArgumentError("no batch may follow an upload's closing request");
  const int kinds = (request.records_size() > 0) + (request.commitments_size() > 0) +
                    request.has_commitment_batch();
  if (kinds > 1) {
    return absl::InvalidArgumentError(
        "a batch carries records, commitments or a commitment batch, not two of them");
  }
  if (request.commitments_size() > 0) return AnswerCommitments(session, request);
  if (request.has_commitment_batch()) return AnswerCommitmentBatch(session, request);
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

absl::StatusOr<v1::UploadResponse> UploadStream::AnswerCommitmentBatch(
    const Session& session, const v1::UploadRequest& request) {
  absl::StatusOr<CommittedLeaves> committed =
      core_.ingest().CommitLeaves(session, request.commitment_batch());
  if (!committed.ok()) return committed.status();
  RememberLogIndexes(committed->results);
  return CompactCommitmentResponse(request.batch_id(), std::move(*committed));
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
    if (result.code() != 0) continue;
    receipted_.Add(result.has_receipt() ? &result.receipt() : nullptr, result.log_index());
  }
}

absl::StatusOr<v1::UploadResponse> UploadStream::AnswerClosing(const Session& session,
                                                               const v1::UploadRequest& request) {
  if (request.records_size() > 0 || request.commitments_size() > 0 ||
      request.has_commitment_batch()) {
    return absl::InvalidArgumentError("an upload's closing request carries no records");
  }
  if (closed_) return absl::InvalidArgumentError("an upload closes once");
  closed_ = true;
  v1::UploadResponse response;
  response.set_batch_id(request.batch_id());
  // Nothing to prove, too many for one answer, or proofs the server cannot give now:
  // none, and the device asks with GetLogProofs in groups.
  std::optional<v1::GetLogProofsResponse> log =
      ProveClosing(core_, session, request.log(), receipted_, opened_tree_size_);
  if (log.has_value()) *response.mutable_log() = std::move(*log);
  return response;
}

}  // namespace temoin::server
