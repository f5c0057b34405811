#ifndef TEMOIN_SERVER_CORE_PIECE_STREAM_H_
#define TEMOIN_SERVER_CORE_PIECE_STREAM_H_

#include <string>

#include "absl/status/statusor.h"
#include "server/core/attachments.h"
#include "server/core/session.h"
#include "temoin/v1/sync.pb.h"

namespace temoin::server {

// The pieces of one UploadAttachment stream, taken in order, with the two savings a
// slow link needs (issue 13: on a 256 kbit/s link every answer and every repeated id
// is air time, and at a cut every byte of an unfinished piece is lost):
// - Ids carried once: a piece whose record_id and blob_id are both empty belongs to
//   the blob of the stream's previous piece (52 B less up per piece). A first piece
//   without ids is refused as an unknown blob.
// - Quiet pieces: a piece marked `quiet` gets no answer, unless it completes a blob
//   (the answer carries the receipt) or is refused (the stream ends with the error).
//   Answers are cumulative (next_index and next_offset of the blob), so the next
//   answered piece acknowledges every quiet one before it.
// Answers carry neither id (the device matches them in order), except record_id with
// a receipt. Business logic only: the RPC layer writes what Take returns, nothing when
// it is empty. Not thread-safe: one stream's pieces arrive one after the other.
class PieceStream {
 public:
  explicit PieceStream(Attachments& attachments) : attachments_(attachments) {}

  // Attachments::UploadChunk's result, slimmed as above; an empty BlobStatus (zero bytes
  // serialised) when there is nothing to answer.
  absl::StatusOr<v1::BlobStatus> Take(const Session& session, v1::AttachmentChunk chunk);

 private:
  Attachments& attachments_;
  std::string record_id_;
  std::string blob_id_;
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_CORE_PIECE_STREAM_H_
