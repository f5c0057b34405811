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
  // Where the earlier attempts of this run left each blob (SyncCarry), or null. When
  // every blob is either in `nothing_held` or here (and not at its end), nobody asks
  // where they resume: each goes on from its last acknowledged piece, one round trip
  // sooner after every cut. The server holds at least that much, and takes again what
  // it held beyond it (unacknowledged when the link dropped) as harmless repeats, whose
  // answers say how far it really is. Updated with every acknowledgement; a blob's
  // entry is dropped when the server refuses to go on from it (it holds less: its
  // partial expired), so that the next attempt asks.
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

// Where each of `jobs` resumes when no question is needed: every blob was either stored
// by this attempt (the server holds no byte of it) or acknowledged by an earlier attempt
// of the run short of its end. nullopt when one is neither: a blob acknowledged to its
// end is asked about too, since only a query brings back the receipt a cut may have
// taken with the last answer.
std::optional<std::vector<BlobJob>> KnownResumePoints(const AttachmentUploadPlan& plan,
                                                      std::vector<BlobJob> jobs);

// Whether an upload stream ended on the server's word about its pieces (a gap: it holds
// less than was acknowledged, its partial having expired; an unknown blob; bytes that
// differ) rather than on the link or the session.
bool RefusedWhereItResumed(const absl::Status& status);

// After such a refusal: forgets where the unasked blobs of `todo` were, so that the
// next try asks. Whether there was one to forget.
bool ForgetUnasked(const AttachmentUploadPlan& plan, const std::vector<BlobJob>& todo);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_SYNC_ATTACHMENT_RESUME_H_
