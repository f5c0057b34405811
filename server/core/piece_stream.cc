#include "server/core/piece_stream.h"

#include <utility>

#include "common/status_macros.h"

namespace temoin::server {

absl::StatusOr<v1::BlobStatus> PieceStream::Take(const Session& session,
                                                 v1::AttachmentChunk chunk) {
  if (chunk.record_id().empty() && chunk.blob_id().empty()) {
    chunk.set_record_id(record_id_);
    chunk.set_blob_id(blob_id_);
  }
  TEMOIN_ASSIGN_OR_RETURN(v1::BlobStatus status, attachments_.UploadChunk(session, chunk));
  record_id_ = std::move(*chunk.mutable_record_id());
  blob_id_ = std::move(*chunk.mutable_blob_id());
  if (chunk.quiet() && !status.complete() && !status.has_receipt()) return v1::BlobStatus();
  status.clear_blob_id();
  if (!status.has_receipt()) status.clear_record_id();
  return status;
}

}  // namespace temoin::server
