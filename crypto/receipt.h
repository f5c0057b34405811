#ifndef TEMOIN_CRYPTO_RECEIPT_H_
#define TEMOIN_CRYPTO_RECEIPT_H_

#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/keys.h"
#include "temoin/v1/record.pb.h"

namespace temoin::crypto {

// Full receipts say a record is durably stored and logged; commitment receipts say only
// that its (record id, digest) was received, before its body (log_index 0). A
// commitment receipt is built as below with "commitment-" before every context
// ("temoin/commitment-receipt/v1", "temoin/commitment-batch-receipt/v1", its /leaf/v1
// and /node/v1), so no signature, path or cached check of one kind passes for the other.
enum class ReceiptKind { kFull, kCommitment };

// Serializes `body` once and signs those bytes (context "temoin/receipt/v1", or
// "temoin/commitment-receipt/v1" for a commitment receipt).
v1::Receipt SignReceipt(const v1::ReceiptBody& body, const SigningKey& server_key,
                        ReceiptKind kind = ReceiptKind::kFull);

// Batch receipts: one server signature for every record stored by one batch.
//   leaf   = Hash256("temoin/batch-receipt/leaf/v1",
//                    u32be(format_version) || lp(record_id) || lp(digest) ||
//                    u64be(log_index) || u64be(received_at) || lp(server_key_id))
//            where lp(x) = u32be(len(x)) || x: every field of the ReceiptBody is bound.
//   node   = Hash256("temoin/batch-receipt/node/v1", left || right)
//   root   = the RFC 9162 Merkle tree hash over the leaves in order (n = 1: the leaf;
//            else split at the largest power of two below n)
//   signed = Ed25519("temoin/batch-receipt/v1", u32be(n) || root)
// Leaf, node and signature contexts differ from each other and from
// "temoin/receipt/v1", so no batch receipt passes for a single one or vice versa, and
// no inner node passes for a leaf. Each record keeps a self-contained Receipt: its
// ReceiptBody, the batch signature, its leaf index, n and the audit path (at most
// 32 hashes; 7 for a batch of 128).

// Signs `bodies` (at least one, at most 2^20) with one signature; returns one
// self-contained Receipt per body, in order.
std::vector<v1::Receipt> SignBatchReceipts(const std::vector<v1::ReceiptBody>& bodies,
                                           const SigningKey& server_key,
                                           ReceiptKind kind = ReceiptKind::kFull);

// The device's side: `bodies` rebuilt from what it knows (its own record ids and
// digests, the log indexes and batch fields the server sent), `signature` untrusted.
// Verifies the one signature and returns each body's Receipt, in order.
// kUnauthenticated "receipt verification failed" on a bad signature (or a signature
// over other bodies); kInvalidArgument for an empty or oversized batch.
absl::StatusOr<std::vector<v1::Receipt>> VerifyBatchReceipts(
    const std::vector<v1::ReceiptBody>& bodies, absl::string_view signature,
    absl::string_view server_public_key, ReceiptKind kind = ReceiptKind::kFull);

// `receipt` untrusted, single or batch. Checks the server signature (for a batch
// receipt: over the root rebuilt from the body's leaf and the path), then that the
// body names `record_id` and `digest`. kUnauthenticated "receipt verification failed"
// on a bad signature or path; kInvalidArgument when the body does not parse or names
// another record or digest.
absl::StatusOr<v1::ReceiptBody> VerifyReceipt(const v1::Receipt& receipt,
                                              absl::string_view server_public_key,
                                              absl::string_view record_id, absl::string_view digest,
                                              ReceiptKind kind = ReceiptKind::kFull);

// Batch signatures already verified: (server key, signed message, signature) triples.
// Every record of one upload batch carries the same root and signature, so a reviewer
// opening 20,000 records checks each batch's Ed25519 signature once instead of once a
// record. Only triples that verified are added, and a lookup matches all three exactly,
// so a hit is the same answer a fresh verification gives. Not thread-safe: one per thread.
class VerifiedBatchSignatures {
 public:
  bool Contains(absl::string_view key, absl::string_view message,
                absl::string_view signature) const {
    return seen_.count({std::string(key), std::string(message), std::string(signature)}) > 0;
  }
  void Add(absl::string_view key, absl::string_view message, absl::string_view signature) {
    seen_.emplace(std::string(key), std::string(message), std::string(signature));
  }

 private:
  std::set<std::tuple<std::string, std::string, std::string>> seen_;
};

// As above; a batch receipt whose (key, root message, signature) is in `verified` skips
// the signature check (its path and body are still checked), and one that verifies is
// added to it.
absl::StatusOr<v1::ReceiptBody> VerifyReceipt(const v1::Receipt& receipt,
                                              absl::string_view server_public_key,
                                              absl::string_view record_id, absl::string_view digest,
                                              VerifiedBatchSignatures& verified,
                                              ReceiptKind kind = ReceiptKind::kFull);

}  // namespace temoin::crypto

#endif  // TEMOIN_CRYPTO_RECEIPT_H_
