#include "client/sync/log_check.h"

#include <algorithm>

#include "client/core/device_state.h"
#include "client/core/server_keys_state.h"
#include "common/status_macros.h"
#include "temoin/v1/sync.grpc.pb.h"

namespace temoin::client {

absl::Status AcceptLogAnswer(Vault& vault, absl::string_view receipt_public_key,
                             const WitnessPolicy& witnesses,
                             const std::vector<crypto::LogLeaf>& leaves,
                             const v1::GetLogProofsResponse& answer,
                             std::optional<VerifiedCheckpoint>& held) {
  TEMOIN_ASSIGN_OR_RETURN(v1::Profile profile, LoadProfile(vault));
  TEMOIN_ASSIGN_OR_RETURN(std::optional<HeldServerKeys> statement,
                          LoadServerKeys(vault, profile.org_public_key()));
  absl::StatusOr<VerifiedCheckpoint> verified = VerifyLogAnswer(
      answer, receipt_public_key, held, statement.has_value() ? &statement->keys : nullptr);
  absl::Status checked = verified.status();
  if (checked.ok()) {
    // Once the organisation has certified the server's keys, only a listed log key
    // (server_keys_state.h); before that, the receipt key's word, as above.
    checked = CheckLogKeyCertified(vault, profile.org_public_key(), verified->vkey);
  }
  if (checked.ok()) checked = VerifyInclusions(*verified, leaves, answer);
  // A checkpoint the required witnesses did not cosign is not stored (witness_policy.h).
  if (checked.ok()) checked = CheckWitnessQuorum(*verified, witnesses);
  if (!checked.ok()) {
    if (checked.code() == absl::StatusCode::kDataLoss) {
      v1::GetLogProofsResponse kept = answer;
      // Left out (held_log_key): the key it verified with, for the evidence.
      if (kept.log_vkey().empty() && held.has_value()) kept.set_log_vkey(held->vkey);
      TEMOIN_RETURN_IF_ERROR(KeepLogEvidence(vault, held, kept));
    }
    return checked;
  }
  TEMOIN_RETURN_IF_ERROR(StoreCheckpoint(vault, *verified));
  held = *std::move(verified);
  return absl::OkStatus();
}

absl::Status AcceptLogAnswerForLeaves(Vault& vault, absl::string_view receipt_public_key,
                                      const std::vector<crypto::LogLeaf>& leaves,
                                      const v1::GetLogProofsResponse& answer) {
  TEMOIN_ASSIGN_OR_RETURN(std::optional<VerifiedCheckpoint> held, HeldCheckpoint(vault));
  TEMOIN_ASSIGN_OR_RETURN(WitnessPolicy witnesses, LoadWitnessPolicy(vault));
  return AcceptLogAnswer(vault, receipt_public_key, witnesses, leaves, answer, held);
}

v1::GetLogProofsRequest ConsistencyRequest(const std::optional<VerifiedCheckpoint>& held) {
  v1::GetLogProofsRequest request;
  if (held.has_value()) request.set_old_size(held->checkpoint.size);
  return request;
}

v1::GetLogProofsRequest SyncLogRequest(const std::optional<VerifiedCheckpoint>& held) {
  v1::GetLogProofsRequest request = ConsistencyRequest(held);
  if (held.has_value()) request.set_held_log_key(crypto::LogKeyTag(held->vkey));
  return request;
}

absl::Status CheckLog(Vault& vault, Connection& connection, absl::string_view receipt_public_key,
                      const std::vector<crypto::LogLeaf>& leaves, LeafProofs form,
                      v1::GetLogProofsResponse* last_answer) {
  TEMOIN_ASSIGN_OR_RETURN(std::optional<VerifiedCheckpoint> held, HeldCheckpoint(vault));
  TEMOIN_ASSIGN_OR_RETURN(WitnessPolicy witnesses, LoadWitnessPolicy(vault));
  constexpr size_t kMaxIndexes = 1024;  // the server's limit per request
  size_t at = 0;
  do {
    const size_t end = std::min(leaves.size(), at + kMaxIndexes);
    std::vector<crypto::LogLeaf> chunk(leaves.begin() + at, leaves.begin() + end);
    v1::GetLogProofsRequest request = ConsistencyRequest(held);
    for (const crypto::LogLeaf& leaf : chunk) request.add_log_indexes(leaf.log_index);
    request.set_joint(form == LeafProofs::kJoint && !chunk.empty());
    v1::GetLogProofsResponse answer;
    TEMOIN_RETURN_IF_ERROR(
        FromGrpc(connection.sync().GetLogProofs(connection.NewContext().get(), request, &answer),
                 connection.address()));
    TEMOIN_RETURN_IF_ERROR(
        AcceptLogAnswer(vault, receipt_public_key, witnesses, chunk, answer, held));
    if (last_answer != nullptr) *last_answer = std::move(answer);
    at = end;
  } while (at < leaves.size());
  return absl::OkStatus();
}

}  // namespace temoin::client
