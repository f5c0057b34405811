#include "server/core/piece_stream.h"

#include <utility>

#include "common/status_macros.h"

namespace temoin::server {

absl::StatusOr<v1::BlobStatus> PieceStream::Take(const Session& session,
                                                 v1::AttachmentChunk chunk) {
  if (chunk.has_log()) return TakeClosing(session, chunk);
  if (closed_) return absl::InvalidArgumentError("no piece may follow a stream's closing message");
  return TakePiece(session, std::move(chunk));
}

absl::StatusOr<v1::BlobStatus> PieceStream::TakePiece(const Session& session,
                                                      v1::AttachmentChunk chunk) {
  if (chunk.record_id().empty() && chunk.blob_id().empty()) {
    chunk.set_record_id(record_id_);
    chunk.set_blob_id(blob_id_);
  }
  TEMOIN_ASSIGN_OR_RETURN(v1::BlobStatus status, core_.attachments().UploadChunk(session, chunk));
  record_id_ = std::move(*chunk.mutable_record_id());
  blob_id_ = std::move(*chunk.mutable_blob_id());
  if (status.has_receipt()) receipted_.Add(&status.receipt());
  if (chunk.quiet() && !status.complete() && !status.has_receipt()) return v1::BlobStatus();
  status.clear_blob_id();
  if (!status.has_receipt()) status.clear_record_id();
  return status;
}

absl::StatusOr<v1::BlobStatus> PieceStream::TakeClosing(const Session& session,
                                                        const v1::AttachmentChunk& chunk) {
  if (!chunk.record_id().empty() || !chunk.blob_id().empty() || !chunk.data().empty() ||
      chunk.index() != 0 || chunk.offset() != 0 || chunk.quiet()) {
    return absl::InvalidArgumentError("a stream's closing message carries no piece");
  }
  if (closed_) return absl::InvalidArgumentError("a stream closes once");
  closed_ = true;
  std::optional<v1::GetLogProofsResponse> log =
      ProveClosing(core_, session, chunk.log(), receipted_);
  // With nothing to prove (or proofs the server cannot give now) the answer is empty
  // and not written: the device then sees the stream end without proofs and asks with
  // GetLogProofs.
  v1::BlobStatus answer;
  if (log.has_value()) *answer.mutable_log() = std::move(*log);
  return answer;
}

}  // namespace temoin::server
