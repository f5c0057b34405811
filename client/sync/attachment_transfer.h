#ifndef TEMOIN_CLIENT_SYNC_ATTACHMENT_TRANSFER_H_
#define TEMOIN_CLIENT_SYNC_ATTACHMENT_TRANSFER_H_

#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "client/core/attachments.h"
#include "client/sync/attachment_resume.h"
#include "client/sync/connection.h"
#include "client/vault/vault.h"
#include "temoin/v1/client_store.pb.h"
#include "temoin/v1/sync.pb.h"
#include "temoin/v1/testimony.pb.h"

namespace temoin::client {

struct AttachmentUploadStats {
  uint64_t pieces_acked = 0;
  uint64_t slices_done = 0;  // slices made whole on the server by this call
  uint64_t bytes_sent = 0;   // acknowledged
  uint64_t receipted = 0;
  // The answer to the plan's closing, when the stream ended with one: the log proofs
  // of `proven_log_indexes`, the indexes the closing named and those of every receipt
  // this call applied. Unchecked: the caller checks it as it checks GetLogProofs.
  std::optional<v1::GetLogProofsResponse> log;
  std::set<uint64_t> proven_log_indexes;
};

struct AttachmentUploadOptions {
  // Unacknowledged bytes, at most (the window starts at two pieces and grows only while
  // no queue builds in front of the link).
  uint64_t window_bytes = 64 << 10;
  // The upload unit, 1 KiB to a slice (client/core/attachments.h). At a cut the piece
  // on the air is lost whole (a gRPC message lands only whole); each piece costs
  // framing up, and only every few get an answer.
  uint64_t piece_bytes = kUploadPieceBytes;
};

// Uploads the attachments of `plan.entries` (pending records whose bodies the server
// holds). Where each blob resumes (slice and byte offset) is known without asking when
// this attempt stored every body, or the run knows every blob (KnownResumePoints);
// otherwise one QueryAttachments call says. Then one stream carries every missing
// piece, pipelined within the window; which pieces ask for an answer, and what each
// answer acknowledges, is client/sync/piece_ledger.h's. Receipts that come back (a
// record whose last blob completed) are verified and applied at once. `on_bytes` is
// told, once per blob, of the bytes the server held (or was last known to hold) when
// this call began (`already_held` true), then of the bytes each answer acknowledges.
// A stream the server refuses for its pieces forgets the run's knowledge of its blobs
// (`plan.acknowledged`); when one of them went on without asking, the refusal comes
// back as kAborted, which `sync --until-done` retries at once, asking. Test hook: with TEMOIN_TEST_STOP_AFTER_CHUNKS=N in the
// environment the process exits abruptly after N slices are made whole, as a phone
// dying mid-upload would.
absl::Status UploadAttachments(
    Vault& vault, Connection& connection, const AttachmentUploadPlan& plan,
    const AttachmentUploadOptions& options,
    const std::function<void(uint64_t bytes, bool already_held)>& on_bytes,
    AttachmentUploadStats& stats);

// Reviewers: streams blob `info.blob_id()` of `record_id` from the server, checks size
// and hash against `ref` (from the device-signed header), decrypts it with the key in
// `info`, and writes the plaintext to `path` (0600). kDataLoss / kUnauthenticated when
// anything does not match (the partial file is removed).
absl::Status DownloadAttachment(Connection& connection, const std::string& record_id,
                                const v1::AttachmentRef& ref, const v1::AttachmentInfo& info,
                                const std::string& path);

// The same, handing each decrypted piece to `sink` (which must not keep it: the piece is
// wiped when `sink` returns). The pieces are handed over before the whole stream's hash
// is checked: a caller that keeps them drops them all on an error.
absl::Status DownloadAttachmentTo(Connection& connection, const std::string& record_id,
                                  const v1::AttachmentRef& ref, const v1::AttachmentInfo& info,
                                  const std::function<absl::Status(absl::string_view)>& sink);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_SYNC_ATTACHMENT_TRANSFER_H_
