#ifndef TEMOIN_SERVER_CORE_UPLOAD_STREAM_H_
#define TEMOIN_SERVER_CORE_UPLOAD_STREAM_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "server/core/closing_proofs.h"
#include "server/core/core.h"
#include "server/core/session.h"
#include "temoin/v1/sync.pb.h"

namespace temoin::server {

// The batches of one Sync/Upload stream, answered in order: commitments, or bodies
// (positionally when the device asks), and at most once a closing request that asks
// for the log proofs of what the stream receipted (UploadRequest.log). The stream
// remembers the log index of every full receipt and batch-receipt leaf it answered, so
// that the device, which has not seen those answers when it sends its closing request,
// need not name them: the proofs then come back on the stream instead of in a
// GetLogProofs call one round trip later (issue 13, "the attempt").
// Business logic only: the RPC layer writes what Answer returns. Not thread-safe: one
// stream's requests are answered one after the other.
class UploadStream {
 public:
  explicit UploadStream(Core& core) : core_(core) {}

  // Untrusted input: a batch that carries both records and commitments, or a closing
  // request that carries either, is refused (InvalidArgument).
  absl::StatusOr<v1::UploadResponse> Answer(const Session& session,
                                            const v1::UploadRequest& request);

  // The stream was opened with a sign-in whose log check answered a checkpoint of
  // `tree_size` leaves. The device holds that checkpoint once it has checked it, which
  // it does before it takes any other answer, so the closing proof's consistency starts
  // there rather than at the size the closing request names (sent, pipelined, before
  // the device had seen that answer).
  void OpenedAtTreeSize(uint64_t tree_size) { opened_tree_size_ = tree_size; }

 private:
  absl::StatusOr<v1::UploadResponse> AnswerCommitments(const Session& session,
                                                       const v1::UploadRequest& request);
  absl::StatusOr<v1::UploadResponse> AnswerCommitmentBatch(const Session& session,
                                                           const v1::UploadRequest& request);
  absl::StatusOr<v1::UploadResponse> AnswerBodies(const Session& session,
                                                  const v1::UploadRequest& request);
  absl::StatusOr<v1::UploadResponse> AnswerClosing(const Session& session,
                                                   const v1::UploadRequest& request);
  void RememberLogIndexes(const std::vector<v1::RecordResult>& results);

  Core& core_;
  ReceiptedIndexes receipted_;
  bool closed_ = false;
  uint64_t opened_tree_size_ = 0;
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_CORE_UPLOAD_STREAM_H_
