#ifndef TEMOIN_SERVER_CORE_ATTACHMENTS_H_
#define TEMOIN_SERVER_CORE_ATTACHMENTS_H_

#include <functional>
#include <mutex>
#include <optional>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "crypto/attachment_stream.h"
#include "server/core/audit_log.h"
#include "server/core/ingest.h"
#include "server/core/metrics.h"
#include "server/core/registry.h"
#include "server/core/session.h"
#include "temoin/v1/sync.pb.h"

namespace temoin::server {

// Every slice of an attachment's ciphertext stream has this size but the last.
inline constexpr uint64_t kUploadChunkBytes =
    crypto::kAttachmentChunkBytes + crypto::kAttachmentChunkOverhead;

// Resumable attachment upload and reviewer download. A blob can be uploaded only once
// the body of its record is durably in (pending): its size and BLAKE2b-256 hash come
// from that verified header. The stream is cut into slices (kUploadChunkBytes, the unit
// of storage and download); a slice arrives in pieces, in order (one whole piece for
// clients before pieces). Each piece is durably written before it is acknowledged: a
// row of its own (piece/) until its slice is whole, then the slice's pieces become one
// slice row (chunk/) in the same write. When the last slice is whole the stream is
// hashed and compared with the header, and the record is promoted to a receipt once
// all its blobs are complete. Requests untrusted. Thread-safe, and safe across
// front-ends of one store: each piece, expiry and release is one read-modify-write under
// the store lock "attachments" (Store::CommitLocked), so the partial-upload budgets are
// the store's, shared by every front-end, and two front-ends taking pieces of one blob
// at once take them one after the other.
class Attachments {
 public:
  static constexpr int64_t kExpiryIntervalSeconds = 3600;

  // None owned; all must outlive this.
  Attachments(Registry* registry, Ingest* ingest, const Clock* clock, AuditLog* audit)
      : registry_(registry), ingest_(ingest), clock_(clock), audit_(audit) {}

  // Monitors, for their own blobs. An unknown blob (or another device's) is reported
  // with code kNotFound in its BlobStatus; the call fails only on storage errors.
  // Completes promotion left half-done by a crash.
  absl::StatusOr<v1::QueryAttachmentsResponse> Query(const Session& session,
                                                     const v1::QueryAttachmentsRequest& req);

  // Stores one piece: `chunk.data()` at byte `chunk.offset()` of slice `chunk.index()`.
  // OK with the blob's status (and the record's receipt when this completed it). A piece
  // that repeats held bytes is OK (idempotent) and stores only what is new; one that
  // starts past the held bytes is refused. kNotFound "attachment blob_id is not expected
  // from this device"; kFailedPrecondition "attachment chunk is out of order" or
  // "attachment chunk differs from the stored one"; kInvalidArgument "attachment chunk
  // has the wrong size" (empty), "attachment chunk overruns its slice" or "attachment is
  // larger than its declared size"; kDataLoss "attachment hash does not match its
  // header" (every slice and piece of the blob is dropped: it restarts from zero);
  // kResourceExhausted when the device's or the server's partial-upload budget (bytes
  // held in unfinished blobs, pieces included; IngestLimits) is used up (the piece that
  // completes a blob is always taken); kPermissionDenied for a revoked
  // device. A refused piece stores nothing.
  absl::StatusOr<v1::BlobStatus> UploadChunk(const Session& session,
                                             const v1::AttachmentChunk& chunk);

  // Reviewers: calls `emit` for each slice from `from_index` of a complete blob of a
  // record in a granted project, until it returns false. kNotFound otherwise (like a
  // record that does not exist). Each call writes one "attachment.fetch" audit entry
  // (who, which record) durably before the first slice; if it cannot, nothing is sent.
  absl::Status Fetch(const Session& session, const v1::FetchAttachmentRequest& req,
                     const std::function<bool(const v1::AttachmentChunk&)>& emit);

  // Fetch in steps, for a download written page by page: OpenFetch makes Fetch's checks
  // (and, with `audit`, its one audit entry) and returns the device whose blob it is;
  // ReadSlices then reads slices of that blob from `from_index` until `emit` returns
  // false. A stream audits its first page only and checks the grant again for each.
  absl::StatusOr<std::string> OpenFetch(const Session& session,
                                        const v1::FetchAttachmentRequest& req, bool audit);
  absl::Status ReadSlices(absl::string_view device_id, const v1::FetchAttachmentRequest& req,
                          uint64_t from_index,
                          const std::function<bool(const v1::AttachmentChunk&)>& emit);

  // Drops every incomplete blob that has taken no byte for
  // IngestLimits::partial_upload_ttl_seconds before `now`, and every one of a revoked
  // device: its slices and pieces are deleted and its bytes released from both budgets.
  // The blob itself stays expected, from byte zero (its record is still pending), so a
  // device that comes back later uploads it again. Returns the bytes released.
  // UploadChunk runs it itself at the first piece after start and then at most every
  // kExpiryIntervalSeconds (budgets matter only when pieces arrive); a server may also
  // call it on a timer.
  absl::StatusOr<uint64_t> ExpireStalePartials(int64_t now);

  // Releases every partial upload of `device_id` at once (on revocation). Returns the
  // bytes released.
  absl::StatusOr<uint64_t> ReleaseDevice(absl::string_view device_id);

  // Not owned; must outlive this. Set before the first call (not synchronised).
  void set_metrics(Metrics* metrics) { metrics_ = metrics; }

 private:
  absl::StatusOr<v1::BlobStatus> StatusOf(absl::string_view blob_id, const v1::StoredBlob& blob);
  // What a piece did, decided under the store lock and reported after the commit.
  struct PieceOutcome {
    v1::StoredBlob blob;   // as the piece left it
    absl::Status refusal;  // reported once the batch is committed (a blob reset by its hash)
    bool stored = false;   // the piece brought new bytes
  };
  absl::Status ChargeNewBytes(absl::string_view device_id, const v1::AttachmentChunk& chunk);
  // UploadChunk's builder, under the store lock kPartialsLock (attachments.cc).
  absl::StatusOr<WriteBatch> TakePiece(absl::string_view device_id,
                                       const v1::AttachmentChunk& chunk, PieceOutcome& outcome);
  absl::StatusOr<uint64_t> ExpireStalePartialsLocked(int64_t now);  // under expiry_mu_
  void ExpireStalePartialsIfDue(int64_t now);
  // Drops the held bytes of one incomplete blob and its pbl/ row, in one durable write
  // under the store lock; with `untouched_since`, only if it took no byte after that
  // time. Returns the bytes released.
  absl::StatusOr<uint64_t> DropPartial(absl::string_view device_id, absl::string_view blob_id,
                                       std::optional<int64_t> untouched_since);

  Registry* const registry_;
  Ingest* const ingest_;
  const Clock* const clock_;
  AuditLog* const audit_;
  Metrics* metrics_ = &NoMetrics();
  std::mutex expiry_mu_;        // one expiry run at a time in this process
  int64_t next_expiry_at_ = 0;  // under expiry_mu_
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_CORE_ATTACHMENTS_H_
