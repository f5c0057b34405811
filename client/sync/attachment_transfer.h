#ifndef TEMOIN_CLIENT_SYNC_ATTACHMENT_TRANSFER_H_
#define TEMOIN_CLIENT_SYNC_ATTACHMENT_TRANSFER_H_

#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "client/sync/connection.h"
#include "client/vault/vault.h"
#include "temoin/v1/client_store.pb.h"
#include "temoin/v1/testimony.pb.h"

namespace temoin::client {

struct AttachmentUploadStats {
  uint64_t pieces_acked = 0;
  uint64_t slices_done = 0;  // slices made whole on the server by this call
  uint64_t bytes_sent = 0;   // acknowledged
  uint64_t receipted = 0;
};

// Uploads the attachments of `entries` (pending records whose bodies the server holds):
// one QueryAttachments call says where each blob resumes (slice and byte offset), then
// one stream carries every missing piece (kUploadPieceBytes, a slice's last shorter),
// pipelined with at most `window_bytes` unacknowledged (less on a slow link, where
// bytes queued in front of the link are lost at a cut). Receipts that come back (a
// record whose last blob completed) are verified and applied at once. `on_bytes` is
// told, once per blob, of the bytes the server already held when this call began
// (`already_held` true), then of each acknowledged piece's size. Test hook: with
// TEMOIN_TEST_STOP_AFTER_CHUNKS=N in the environment the process exits abruptly
// after N slices are made whole, as a phone dying mid-upload would.
absl::Status UploadAttachments(
    Vault& vault, Connection& connection, const std::vector<v1::OutboxEntry>& entries,
    uint64_t window_bytes, const std::function<void(uint64_t bytes, bool already_held)>& on_bytes,
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
