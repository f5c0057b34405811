#ifndef TEMOIN_CLIENT_SYNC_ATTACHMENT_RESUME_H_
#define TEMOIN_CLIENT_SYNC_ATTACHMENT_RESUME_H_

// Where each blob of an attachment upload resumes, and when that is known without
// asking the server (client/sync/attachment_transfer.h uploads them).

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "temoin/v1/client_store.pb.h"
#include "temoin/v1/sync.pb.h"
#include "temoin/v1/testimony.pb.h"

namespace temoin::client {

// How far a blob's upload got, as far as the device was told: the end of the last piece
// an answer acknowledged (a slice, and a byte offset within it).
struct BlobAcknowledged {
  uint64_t index = 0;
  uint64_t offset = 0;
};
using AcknowledgedBlobs = std::map<std::string, BlobAcknowledged>;  // by blob id

// What one attempt's attachment upload starts from.
struct AttachmentUploadPlan {
  std::vector<v1::OutboxEntry> entries;  // pending records whose bodies the server holds
  // Records whose body this attempt stored (RecordResult.no_attachment_bytes_held): the
  // server holds no byte of their attachments. When every entry is one, nobody asks
  // where the blobs resume: they go from their start, one round trip sooner.
  std::set<std::string> nothing_held;
  // Where the earlier attempts of this run left each blob (SyncCarry), or null: the
  // start a query or this attempt gave it, moved by every acknowledgement. When every
  // blob is known (KnownResumePoints), nobody asks where they resume: each goes on
  // from its last acknowledged piece, one round trip sooner after every cut. The
  // server holds at least that much, and takes again what it held beyond it
  // (unacknowledged when the link dropped) as harmless repeats. A stream the server
  // refuses for its pieces forgets its blobs here, so that the next attempt asks
  // (UploadAttachments).
  AcknowledgedBlobs* acknowledged = nullptr;
  // When set, the stream ends with this closing (AttachmentChunk.log): the proofs of
  // these indexes and of every receipt the call applies come back on the stream, and
  // the sync needs no GetLogProofs call after it.
  std::optional<v1::GetLogProofsRequest> closing;
};

// One blob to upload, and the slice and byte offset it goes on from.
struct BlobJob {
  std::string record_id;
  v1::AttachmentRef ref;
  uint64_t from = 0;         // slice
  uint64_t from_offset = 0;  // within it
  // Resumed from where an earlier attempt's answers left it, without asking: the server
  // may hold more, and may even hold it whole (the cut took the answer with its receipt).
  bool unasked = false;
};

// Every blob of `plan.entries`, from its start.
std::vector<BlobJob> AllBlobs(const AttachmentUploadPlan& plan);

// The blobs of `jobs` still to send and where each resumes, when no question is
// needed: each blob was stored by this attempt (the server holds no byte of it) or is
// known to the run. A blob known to its end is left out (whole on the server; its
// record's receipt comes with its last blob). nullopt, to ask, when a blob is unknown,
// or when every blob of a record is known to its end: its receipt is not in, and only
// a query brings it back.
std::optional<std::vector<BlobJob>> KnownResumePoints(const AttachmentUploadPlan& plan,
                                                      std::vector<BlobJob> jobs);

// Notes in `acknowledged` (when not null) where each of `todo` starts, and that each
// of `whole` is whole on the server, as a query or this attempt found them.
void RememberResumePoints(AcknowledgedBlobs* acknowledged, const std::vector<BlobJob>& todo,
                          const std::vector<BlobJob>& whole);

// Whether an upload stream ended on the server's word about its pieces (a gap, an
// unknown blob, bytes that differ) rather than on the link, the session, the server's
// load or its own fault: what the run remembers of those blobs may then be wrong.
bool RefusedThePieces(const absl::Status& status);

// Forgets where the blobs of `todo` were, so that the next attempt asks. Whether one of
// them had been resumed without asking.
bool ForgetResumePoints(AcknowledgedBlobs* acknowledged, const std::vector<BlobJob>& todo);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_SYNC_ATTACHMENT_RESUME_H_
