#ifndef TEMOIN_CLIENT_SYNC_LOG_CHECK_H_
#define TEMOIN_CLIENT_SYNC_LOG_CHECK_H_

#include <optional>
#include <vector>

#include "absl/status/status.h"
#include "client/core/log_state.h"
#include "client/core/witness_policy.h"
#include "client/sync/connection.h"
#include "client/vault/vault.h"
#include "crypto/log_leaf.h"
#include "temoin/v1/sync.pb.h"

// The one way a device checks the server's transparency log (issue 9), shared by the
// sync (before the upload, after it for the records receipted, and on sign-in), the
// reviewer's pull and the evidence fetch, so that none of them checks less than the
// others.
namespace temoin::client {

// Checks one GetLogProofs answer (untrusted): signed by the log key the pinned receipt
// key vouches for, extending `held` (consistency), each of `leaves` included, and
// cosigned by the witnesses this device requires. Only then is the checkpoint stored
// and `held` moved to it. A rollback, a fork or a leaf missing from the tree (kDataLoss)
// keeps both checkpoints as evidence; too few cosignatures is kFailedPrecondition and
// stores nothing.
absl::Status AcceptLogAnswer(Vault& vault, absl::string_view receipt_public_key,
                             const WitnessPolicy& witnesses,
                             const std::vector<crypto::LogLeaf>& leaves,
                             const v1::GetLogProofsResponse& answer,
                             std::optional<VerifiedCheckpoint>& held);

// AcceptLogAnswer against the checkpoint and witness policy the vault holds: for an
// answer that came without a GetLogProofs call (the closing answer of an upload stream,
// UploadRequest.log), checked exactly as one that did.
absl::Status AcceptLogAnswerForLeaves(Vault& vault, absl::string_view receipt_public_key,
                                      const std::vector<crypto::LogLeaf>& leaves,
                                      const v1::GetLogProofsResponse& answer);

// How the inclusion of several leaves is proven: one joint proof (O(log n) hashes for a
// run of records; what a sync asks for) or an RFC 9162 path per leaf (what an evidence
// package carries, since standard tools check those).
enum class LeafProofs { kJoint, kPathEach };

// Asks for the newest checkpoint with a consistency proof from the one held and proofs
// that `leaves` are in it (in requests of at most the server's 1024), and accepts each
// answer as above. `last_answer`, when given, receives the last answer accepted (the
// evidence fetch keeps it whole).
absl::Status CheckLog(Vault& vault, Connection& connection, absl::string_view receipt_public_key,
                      const std::vector<crypto::LogLeaf>& leaves = {},
                      LeafProofs form = LeafProofs::kJoint,
                      v1::GetLogProofsResponse* last_answer = nullptr);

// The request that asks for no leaf: the newest checkpoint and a consistency proof from
// `held`.
v1::GetLogProofsRequest ConsistencyRequest(const std::optional<VerifiedCheckpoint>& held);

// ConsistencyRequest that also names the log key held (held_log_key), so that the
// answer leaves it out: what a sync asks on its sign-in (GetSettingsRequest.log) and
// when it closes its upload (UploadRequest.log). Not for evidence, which keeps the key.
v1::GetLogProofsRequest SyncLogRequest(const std::optional<VerifiedCheckpoint>& held);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_SYNC_LOG_CHECK_H_
