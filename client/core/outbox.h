#ifndef TEMOIN_CLIENT_CORE_OUTBOX_H_
#define TEMOIN_CLIENT_CORE_OUTBOX_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/core/attachments.h"
#include "client/vault/vault.h"
#include "temoin/v1/client_store.pb.h"
#include "temoin/v1/record.pb.h"
#include "temoin/v1/sync.pb.h"
#include "temoin/v1/testimony.pb.h"

// The monitor's outbox: testimonies sealed on save, waiting for a receipt.
//   outbox/<record_id>   OutboxEntry
// Sealing happens at save: the data key and plaintext are destroyed at once, so the
// device itself cannot read what it recorded. A sealed copy is deleted only after a
// receipt has been verified against the server's key; what remains is the receipt.
namespace temoin::client {

inline constexpr char kOutboxNs[] = "outbox";

struct SealedRecord {
  std::string record_id;
  uint64_t device_seq;
};

// Validates each testimony against the vocabulary, seals it to the newest org-signed
// epoch key of the device's project, and stores all of them with the advanced
// device_seq in one durable commit. Nothing is stored if any testimony is invalid.
// kInvalidArgument (names the testimony index and field) for a bad testimony;
// kFailedPrecondition when the device is not a monitor or has no project key.
struct SealOptions {
  // Files attached to the one testimony (refused with several); each is encrypted into
  // the vault (client/core/attachments.h), after which the original may be deleted.
  std::vector<std::string> attach_paths;
  // Files already in memory (the desk's file picker), attached after those above; the
  // caller keeps and wipes them.
  const std::vector<InMemoryAttachment>* attach_in_memory = nullptr;
  uint64_t max_attachment_bytes = 200ull << 20;
  // JPEG EXIF/XMP/IPTC (GPS position, camera serial, time) is stripped unless set.
  bool keep_metadata = false;
  // Drafts (client/core/drafts.h) deleted in the same durable commit.
  std::vector<std::string> consumed_drafts;
};
absl::StatusOr<std::vector<SealedRecord>> SealTestimonies(
    Vault& vault, const std::vector<v1::Testimony>& testimonies, const SealOptions& options = {});

// Entries that still need to reach the server, by device_seq.
absl::StatusOr<std::vector<v1::OutboxEntry>> PendingRecords(Vault& vault);

// Verifies `receipt` (server key from the profile, record id and digest of the stored
// envelope), then durably replaces the sealed copy with the receipt (purge; state
// PURGED), or, when the device keeps sealed copies, stores the receipt beside it (state
// RECEIVED). A receipt that fails verification changes nothing: kUnauthenticated /
// kInvalidArgument.
absl::Status ApplyReceipts(Vault& vault,
                           const std::vector<std::pair<std::string, v1::Receipt>>& receipts);

// A batch of bodies answered with one batch receipt: `leaves` are (record_id,
// log_index) in leaf order. Rebuilds each ReceiptBody from the stored envelope's digest,
// verifies the one signature (crypto::VerifyBatchReceipts) and applies the receipts as
// ApplyReceipts does, in one durable commit. kUnauthenticated / kInvalidArgument
// change nothing.
absl::Status ApplyBatchReceipt(Vault& vault, const v1::BatchReceipt& batch_receipt,
                               const std::vector<std::pair<std::string, uint64_t>>& leaves);

// Verifies commitment receipts, single or batch (crypto::VerifyReceipt with
// ReceiptKind::kCommitment: server key, record id and digest) and marks those records
// COMMITTED, durably. Records already committed or purged are left alone. Returns how
// many were marked. kUnauthenticated / kInvalidArgument on a bad receipt (nothing kept).
absl::StatusOr<size_t> ApplyCommitmentReceipts(
    Vault& vault, const std::vector<std::pair<std::string, v1::Receipt>>& receipts);

// A commitment batch answered with one commitment batch receipt: `leaves` are
// (record_id, digest) of the leaves committed anew, in leaf order. Rebuilds each
// receipt body, verifies the one signature (crypto::VerifyBatchReceipts) and applies
// the receipts as ApplyCommitmentReceipts does. kUnauthenticated / kInvalidArgument
// change nothing.
absl::StatusOr<size_t> ApplyCommitmentBatchReceipt(
    Vault& vault, const v1::BatchReceipt& batch_receipt,
    const std::vector<std::pair<std::string, std::string>>& leaves);

// Retention after a verified receipt: purge the sealed copy (the default: a seized
// device then holds only receipts) or keep it (state RECEIVED), e.g. for a device that
// also carries bundles by hand.
absl::StatusOr<bool> KeepsSealedCopies(Vault& vault);
absl::Status SetKeepSealedCopies(Vault& vault, bool keep);

// Count per state name ("draft", "sealed", "committed", "received", "purged").
absl::StatusOr<std::map<std::string, uint64_t>> CountByState(Vault& vault);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_CORE_OUTBOX_H_
