#ifndef TEMOIN_CLIENT_CORE_LOG_STATE_H_
#define TEMOIN_CLIENT_CORE_LOG_STATE_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/vault/vault.h"
#include "crypto/checkpoint.h"
#include "crypto/log_leaf.h"
#include "crypto/server_keys.h"
#include "temoin/v1/sync.pb.h"

// What a device knows of the server's transparency log (issue 9), with no network: the
// last checkpoint it verified, and the checks of a GetLogProofs answer against it.
//   tlog/checkpoint              the last verified checkpoint (signed note text)
//   tlog/vkey                    the log's note verifier key it was verified with
//   tlog/evidence/<ms>-held      on a fork, a rollback or a failed inclusion proof: the
//   tlog/evidence/<ms>-received  checkpoint held then, and the one the server showed
//                                (the signed note, with its vkey on the first line)
// A checkpoint is stored only after it verified and extended the one held, so the held
// one never moves backwards or sideways.
namespace temoin::client {

inline constexpr char kLogNs[] = "tlog";

struct VerifiedCheckpoint {
  crypto::Checkpoint checkpoint;
  std::string note;  // the signed note, as received
  std::string vkey;  // the log's verifier key
};

// The checkpoint held (verified again against the stored vkey), or none yet.
absl::StatusOr<std::optional<VerifiedCheckpoint>> HeldCheckpoint(Vault& vault);
absl::Status StoreCheckpoint(Vault& vault, const VerifiedCheckpoint& verified);

// Checks an answer (untrusted) against the receipt key pinned at enrolment and the
// checkpoint held: the log vkey must carry the receipt key's signature (context
// temoin/log-key/v1) and, once a checkpoint is held, continue the held log
// (CheckKeyContinuesLog); the checkpoint must be signed by it; its tree must extend the
// held one (RFC 9162 consistency), whichever key signed each. `certified` is the
// organisation's server-key statement held by the device, or null.
// kUnauthenticated for a bad signature; kDataLoss, naming both tree sizes, for a
// rollback (a smaller tree), a fork (not consistent) or a log key that does not continue
// the held log.
absl::StatusOr<VerifiedCheckpoint> VerifyLogAnswer(const v1::GetLogProofsResponse& answer,
                                                   absl::string_view receipt_public_key,
                                                   const std::optional<VerifiedCheckpoint>& held,
                                                   const crypto::ServerKeys* certified = nullptr);

// Whether `shown`, signed by another key than `held`, is the same log: after a log-key
// rotation the organisation certifies the new key as current and the checkpoints keep
// their origin (the log's name), so the held tree can be checked against the new one.
// OK for the same key; kDataLoss (a fork, naming both sizes) for a key the organisation
// has not certified as current (or no statement held) or for another origin.
absl::Status CheckKeyContinuesLog(const VerifiedCheckpoint& held, const VerifiedCheckpoint& shown,
                                  const crypto::ServerKeys* certified);

// The cheap check of a no-op sync (GetLogProofsRequest.checkpoint_only): the server
// sends its checkpoint only when its tree is not larger than the held one; it must then
// be signed by the held log key (or, after a rotation, by a key `certified` lists as
// current, under the same origin) and be neither a smaller tree (a rollback) nor another
// root at the same size (a fork): kDataLoss naming both sizes, as VerifyLogAnswer. No
// checkpoint (a larger tree) passes, and nothing is stored: without a consistency proof
// it cannot be held, and the next sync with something to send proves it. This catches a
// server restored from an old copy, not one that lies (which could also replay the
// held checkpoint to the full check).
absl::Status CheckCheckpointAgainstHeld(const v1::GetLogProofsResponse& answer,
                                        const VerifiedCheckpoint& held,
                                        const crypto::ServerKeys* certified = nullptr);

// Checks that each leaf, rebuilt from its receipt, is in `checkpoint`'s tree: through
// answer.inclusion (one path per leaf, in order) or, when that is empty, through
// answer.joint_inclusion (one proof for all). kDataLoss naming the log index (or the
// range) when a proof does not lead to the root, kInvalidArgument for a malformed answer.
absl::Status VerifyInclusions(const VerifiedCheckpoint& checkpoint,
                              const std::vector<crypto::LogLeaf>& leaves,
                              const v1::GetLogProofsResponse& answer);

// Keeps the held checkpoint and the one received as evidence (durably), under one
// timestamped name; the held checkpoint stays the device's checkpoint.
absl::Status KeepLogEvidence(Vault& vault, const std::optional<VerifiedCheckpoint>& held,
                             const v1::GetLogProofsResponse& answer);

// Whether KeepLogEvidence ever kept something: this server's log was once seen forked
// or rolled back.
absl::StatusOr<bool> HoldsLogEvidence(Vault& vault);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_CORE_LOG_STATE_H_
