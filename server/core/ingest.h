#ifndef TEMOIN_SERVER_CORE_INGEST_H_
#define TEMOIN_SERVER_CORE_INGEST_H_

#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "crypto/envelope.h"
#include "crypto/keys.h"
#include "server/core/metrics.h"
#include "server/core/rate_limits.h"
#include "server/core/registry.h"
#include "server/core/session.h"
#include "temoin/v1/sync.pb.h"

namespace temoin::server {

struct IngestLimits {
  size_t max_records_per_batch = 256;
  size_t max_commitments_per_batch = 1024;
  // 200 MiB: 30 minutes of voice audio or a few minutes of phone video.
  uint64_t max_attachment_bytes = 200ull << 20;
  // Bytes held in incomplete attachments, all devices together.
  uint64_t max_partial_bytes = 4ull << 30;
  // Bytes held in one device's incomplete attachments: two of the largest in flight, so
  // that no device (a broken or hostile one) can fill the server-wide budget alone.
  uint64_t max_partial_bytes_per_device = 400ull << 20;
  // An incomplete attachment that takes no byte for this long is dropped and its bytes
  // released (Attachments::ExpireStalePartials): sized for 2G devices that resume rarely.
  int64_t partial_upload_ttl_seconds = 7 * 24 * 3600;
  RateLimits rates;  // per device: batches a minute, bytes a day
};

// The answer to a batch of commitments: one result per leaf, in order; `fresh` lists
// the leaves committed anew by this batch, whose receipts are leaves of one commitment
// batch receipt (`batch_receipt`, set when `fresh` is not empty).
struct CommittedLeaves {
  std::vector<v1::RecordResult> results;
  std::vector<int> fresh;
  v1::BatchReceipt batch_receipt;
  // (leaf, earlier leaf naming the same record id): answered as the earlier one.
  std::vector<std::pair<int, int>> repeats;
};

// Takes uploaded sealed records: verifies each (signature against the authenticated
// device, header ids, project and recipient keys), deduplicates by record id and
// digest, writes every new record of the batch in one durable commit, and only then
// signs receipts. The server never opens a record. A record with attachments is kept
// durably (pending) and gets its receipt once every attachment is complete and
// verified (see Attachments). Records are identified by (device, record id): the same
// id from another device is an unrelated record, and no answer depends on it. Thread-safe: commits
// are serialised so the log index is dense and ordered.
class Ingest {
 public:
  // None owned; all must outlive this.
  Ingest(Registry* registry, const Clock* clock, const crypto::SigningKey* receipt_key,
         IngestLimits limits);

  const IngestLimits& limits() const { return limits_; }
  // Not owned; must outlive this. Set before the first call (not synchronised).
  void set_metrics(Metrics* metrics) { metrics_ = metrics; }
  RateLimiter& rate_limiter() { return rate_limiter_; }  // also charged by Attachments

  // One RecordResult per envelope, in order. A record that fails validation gets its
  // own code and message and does not affect the others:
  //   kInvalidArgument (malformed; field named), kUnauthenticated (bad signature),
  //   kPermissionDenied (another device's or project's record, or unknown recipient key),
  //   kFailedPrecondition "record id already stored with different content" (the
  //   conflicting envelope is kept as evidence; also when it differs from the
  //   commitment), kResourceExhausted for an attachment over the size limit.
  // Same id and digest again: the original receipt. A record with attachments not yet
  // complete: code 0, awaiting_attachments, no receipt. The call itself fails only when
  // the caller may not upload (kPermissionDenied), the batch is too large
  // (kResourceExhausted), or the commit fails (kResourceExhausted when the disk is full;
  // no receipt is given for anything in the batch). The records stored by this batch
  // share one batch receipt (crypto::SignBatchReceipts); its signature goes to
  // `batch_signature` when given.
  //
  // Rate limits: the session's device is charged one batch before verification and
  // the bytes of the records that verify after it (a forged record costs the device
  // it names nothing). `relayed` (ImportBundle: the records came in a bundle, and the
  // session is the bundle's named device, not the sender): no charge before
  // verification, and one batch with the verified bytes after it.
  absl::StatusOr<std::vector<v1::RecordResult>> UploadBatch(
      const Session& session, const google::protobuf::RepeatedPtrField<v1::Envelope>& records,
      std::string* batch_signature = nullptr, bool relayed = false);

  // Commitments (header, digest, signature): each verified against the device key and
  // durably kept; answered with a commitment receipt, or with the full receipt when the
  // record is already stored (which is how receipts of relayed records reach their
  // device). Per-commitment errors as in UploadBatch. Untrusted input.
  absl::StatusOr<std::vector<v1::RecordResult>> CommitBatch(
      const Session& session, const google::protobuf::RepeatedPtrField<v1::Commitment>& items);

  // A batch of commitments under one device signature (UploadRequest.commitment_batch,
  // crypto/commitment_batch.h). The signature is checked first: a forged or altered
  // batch is refused whole (kUnauthenticated), and so is an empty or malformed one
  // (kInvalidArgument) or one over max_commitments_per_batch (kResourceExhausted).
  // Each leaf is then answered as CommitBatch answers a commitment (the full receipt of
  // a stored record, the receipt of an earlier commitment, or a conflict), with two
  // differences: a leaf naming a record an earlier leaf of the batch named gets that
  // leaf's answer if their digests agree and a conflict if not, and a leaf whose body
  // the server already holds awaiting attachments gets a single commitment receipt in
  // a result of its own (the answer must say the body is in). The leaves this batch
  // commits anew share one commitment batch receipt (crypto::SignBatchReceipts,
  // ReceiptKind::kCommitment), and every row keeps the device's proof. Untrusted input.
  absl::StatusOr<CommittedLeaves> CommitLeaves(const Session& session,
                                               const v1::CommitmentBatch& commitments);

  // Stores the pending record `record_id` of `device_id` with its log index and receipt once all
  // its blobs are complete; returns the receipt then, std::nullopt while any is missing or when
  // there is no such pending record (already promoted: see Registry::Record).
  absl::StatusOr<std::optional<v1::Receipt>> PromoteIfComplete(const std::string& device_id,
                                                               const std::string& record_id);

 private:
  // Refuses a store made before per-device record keys (once per process).
  absl::Status CheckLogFormatLocked();
  // UploadBatch without the counting; `stored_now[i]` is set for each record it stores.
  // Its steps are in body_batch.cc.
  absl::StatusOr<std::vector<v1::RecordResult>> StoreBatch(
      const Session& session, const google::protobuf::RepeatedPtrField<v1::Envelope>& records,
      std::string* batch_signature, bool relayed, std::vector<bool>& stored_now);
  // The one write that stores a batch of verified bodies, built under the log's lock
  // (body_batch.cc).
  class BodyBatch;
  // StoreBatch's first step: the caller may upload `count` records now. The device's
  // project, or kPermissionDenied (role), kResourceExhausted (batch size, rate),
  // kFailedPrecondition (no project).
  absl::StatusOr<v1::StoredProject> AdmitBodies(const Session& session, int count, bool relayed);
  // Charges the device for the bytes of the records that verified (see UploadBatch).
  absl::Status ChargeVerifiedBytes(
      const Session& session, const google::protobuf::RepeatedPtrField<v1::Envelope>& records,
      const std::vector<std::optional<crypto::VerifiedRecord>>& verified, bool relayed);
  // The row that keeps `commitment` of `record_id`, with its commitment receipt signed
  // at `now` (to the hour).
  v1::StoredCommitment SignedCommitment(const std::string& device_id,
                                        const v1::Commitment& commitment,
                                        const std::string& record_id, int64_t now) const;
  // The row `cmt/` keeps for `record_id` of `device_id`, if any (kDataLoss when it does
  // not parse).
  absl::StatusOr<std::optional<v1::StoredCommitment>> HeldCommitment(
      const std::string& device_id, const std::string& record_id) const;
  // The commitment receipt of a body kept awaiting its attachments: the one its
  // commitment got, or a new one (its row put in `batch`); none when a commitment of
  // another digest holds the id.
  absl::StatusOr<std::optional<v1::Receipt>> CommitmentReceiptFor(
      const std::string& device_id, const v1::Envelope& envelope, const std::string& record_id,
      const std::string& digest, int64_t now, WriteBatch& batch) const;
  // Answers a commitment of (`id`, `digest`) from what the server holds: the full receipt
  // of a stored record, the receipt of an earlier commitment, or a conflict. False
  // when nothing is held and a commitment row is to be made (`result` may then say the
  // body is in, awaiting its attachments).
  absl::StatusOr<bool> AnswerFromHeld(const std::string& device_id, const std::string& id,
                                      const std::string& digest, v1::RecordResult& result) const;
  // The session's device as stored now may commit: kUnauthenticated when gone,
  // kPermissionDenied when revoked. Under mu_.
  absl::Status CheckDeviceActive(const Session& session) const;
  // CommitLeaves' steps, under mu_: each leaf answered from what is held, or listed in
  // `committed.fresh`; the fresh leaves signed and written; leaves naming a record an
  // earlier leaf named answered as that one.
  absl::Status AnswerLeaves(const std::string& device_id, std::vector<v1::CommitmentProof>& proofs,
                            CommittedLeaves& committed);
  absl::Status CommitFreshLeaves(const std::string& device_id,
                                 std::vector<v1::CommitmentProof>& proofs,
                                 CommittedLeaves& committed);
  // One RecordOutcome per record of a batch, from its answer.
  void CountOutcomes(const absl::StatusOr<std::vector<v1::RecordResult>>& results, int records,
                     const std::vector<bool>& stored_now);

  Registry* const registry_;
  const Clock* const clock_;
  const crypto::SigningKey* const receipt_key_;
  const IngestLimits limits_;
  const std::string server_key_id_;
  std::mutex mu_;
  bool log_format_checked_ = false;
  RateLimiter rate_limiter_;
  Metrics* metrics_ = &NoMetrics();
};

// What goes down the wire for a batch of bodies: the receipts signed by this batch
// (`batch_signature`) become their log index, in leaf order, and one BatchReceipt; the
// device rebuilds them from its own digests. Other receipts (duplicates) stay whole.
// `positional` (UploadRequest.positional_results): leaves get no result at all, only
// UploadResponse.first_log_index, and the other results carry their position instead
// of the record id. `results` are in request order, one per record.
v1::UploadResponse CompactUploadResponse(uint64_t batch_id, std::vector<v1::RecordResult> results,
                                         const std::string& batch_signature,
                                         bool positional = false);

// The body of a commitment receipt of (`record_id`, `digest`), lone or a leaf of a
// batch: log index 0, received at `now` to the hour (no finer timing kept).
v1::ReceiptBody CommitmentReceiptBody(const std::string& record_id, const std::string& digest,
                                      int64_t now, const std::string& server_key_id);

// What goes down the wire for a batch of commitments: the fresh leaves get no result
// (the device rebuilds their receipts and checks the one signature), the others their
// result with its position instead of the record id.
v1::UploadResponse CompactCommitmentResponse(uint64_t batch_id, CommittedLeaves committed);

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_CORE_INGEST_H_
