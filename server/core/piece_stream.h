#ifndef TEMOIN_SERVER_CORE_PIECE_STREAM_H_
#define TEMOIN_SERVER_CORE_PIECE_STREAM_H_

#include <string>

#include "absl/status/statusor.h"
#include "server/core/attachments.h"
#include "server/core/closing_proofs.h"
#include "server/core/core.h"
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
// a receipt. A closing message (AttachmentChunk.log) may end the stream: its answer
// proves in the log every receipt the stream answered (closing_proofs.h), so that the
// sync needs no GetLogProofs call after its attachments. Business logic only: the RPC layer writes
// what Take returns, nothing when it is empty. Not thread-safe: one stream's pieces arrive one
// after the other.
class PieceStream {
 public:
  explicit PieceStream(Core& core) : core_(core) {}

  // Attachments::UploadChunk's result, slimmed as above; an empty BlobStatus (zero bytes
  // serialised) when there is nothing to answer. Untrusted input: a closing message
  // with ids or data, a second one, or a piece after it is refused (InvalidArgument).
  absl::StatusOr<v1::BlobStatus> Take(const Session& session, v1::AttachmentChunk chunk);

 private:
  absl::StatusOr<v1::BlobStatus> TakePiece(const Session& session, v1::AttachmentChunk chunk);
  absl::StatusOr<v1::BlobStatus> TakeClosing(const Session& session,
                                             const v1::AttachmentChunk& chunk);

  Core& core_;
  std::string record_id_;
  std::string blob_id_;
  ReceiptedIndexes receipted_;
  bool closed_ = false;
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_CORE_PIECE_STREAM_H_
