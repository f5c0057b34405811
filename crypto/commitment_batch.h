#ifndef TEMOIN_CRYPTO_COMMITMENT_BATCH_H_
#define TEMOIN_CRYPTO_COMMITMENT_BATCH_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/keys.h"
#include "temoin/v1/record.pb.h"

// A device's batch of commitments under one signature (issue 13). After a cut every
// record not yet committed is committed first; one Commitment each (header, digest and
// the record's own signature) made that ~220 B a record up a 2G link. A batch sends
// (record id, digest, device_seq), ~56 B, and one signature for all:
//   leaf   = Hash256("temoin/commitment-batch/leaf/v1",
//                    lp(record_id) || lp(digest) || u64be(device_seq))
//   node   = Hash256("temoin/commitment-batch/node/v1", left || right)
//   root   = the tree of crypto/batch_tree.h over the leaves in order
//   signed = Ed25519("temoin/commitment-batch/v1", u32be(n) || root)
// by the device key. The contexts are this file's own, so neither a record signature
// ("temoin/record/v1") nor a batch receipt passes for a commitment batch, or the reverse.
namespace temoin::crypto {

// The device's one signature over `leaves` (at least one, at most 2^20; empty otherwise).
std::string SignCommitmentBatch(const std::vector<v1::CommitmentLeaf>& leaves,
                                const SigningKey& device_key);

// The server's side: `batch` untrusted. Checks the one signature against the device
// key and returns each leaf's self-contained proof, in order. kInvalidArgument for an
// empty or oversized batch or a leaf whose record id or digest has the wrong length;
// kUnauthenticated "commitment batch signature verification failed" otherwise.
absl::StatusOr<std::vector<v1::CommitmentProof>> VerifyCommitmentBatch(
    const v1::CommitmentBatch& batch, absl::string_view device_public_key);

// Checks one stored leaf's proof (untrusted) against the device key: the leaf, its
// path and the batch signature. kUnauthenticated when they do not hold.
absl::Status VerifyCommitmentProof(const v1::CommitmentProof& proof,
                                   absl::string_view device_public_key);

}  // namespace temoin::crypto

#endif  // TEMOIN_CRYPTO_COMMITMENT_BATCH_H_
