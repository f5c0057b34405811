#include "client/core/log_state.h"

#include <chrono>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "crypto/keys.h"
#include "crypto/merkle.h"

namespace temoin::client {
namespace {

namespace merkle = crypto::merkle;

constexpr char kCheckpointKey[] = "checkpoint";
constexpr char kVkeyKey[] = "vkey";

std::vector<std::string> Hashes(const google::protobuf::RepeatedPtrField<std::string>& field) {
  return {field.begin(), field.end()};
}

absl::Status Rollback(uint64_t held_size, uint64_t shown_size) {
  return absl::DataLossError(absl::StrCat(
      "the server's transparency log went backwards (a rollback, e.g. a restored old copy): "
      "it shows a tree of ",
      shown_size, " leaves, this device holds a checkpoint of ", held_size,
      " leaves; both checkpoints are kept as evidence"));
}

absl::Status Fork(uint64_t held_size, uint64_t shown_size, absl::string_view why) {
  return absl::DataLossError(absl::StrCat("the server's transparency log forked: its tree of ",
                                          shown_size, " leaves does not extend the checkpoint of ",
                                          held_size, " leaves this device holds (", why,
                                          "); both checkpoints are kept as evidence"));
}

}  // namespace

absl::StatusOr<std::optional<VerifiedCheckpoint>> HeldCheckpoint(Vault& vault) {
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> note, vault.Get(kLogNs, kCheckpointKey));
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> vkey, vault.Get(kLogNs, kVkeyKey));
  if (!note.has_value() || !vkey.has_value()) return std::nullopt;
  TEMOIN_ASSIGN_OR_RETURN(crypto::NoteVerifier verifier, crypto::ParseVkey(*vkey));
  TEMOIN_ASSIGN_OR_RETURN(crypto::Checkpoint checkpoint, crypto::VerifyCheckpoint(*note, verifier));
  return VerifiedCheckpoint{std::move(checkpoint), *std::move(note), *std::move(vkey)};
}

absl::Status StoreCheckpoint(Vault& vault, const VerifiedCheckpoint& verified) {
  VaultBatch batch;
  batch.Put(kLogNs, kCheckpointKey, verified.note);
  batch.Put(kLogNs, kVkeyKey, verified.vkey);
  return vault.Commit(batch);
}

// The checkpoint under the held log key or, after a rotation, under a key the
// organisation certifies as current for the same log (origin).
absl::StatusOr<crypto::Checkpoint> VerifyUnderHeldOrCertified(absl::string_view note,
                                                              const VerifiedCheckpoint& held,
                                                              const crypto::ServerKeys* certified) {
  TEMOIN_ASSIGN_OR_RETURN(crypto::NoteVerifier verifier, crypto::ParseVkey(held.vkey));
  absl::StatusOr<crypto::Checkpoint> shown = crypto::VerifyCheckpoint(note, verifier);
  if (shown.ok() || certified == nullptr) return shown;
  for (const crypto::CertifiedKey& key : certified->log_keys) {
    absl::StatusOr<crypto::NoteVerifier> next = crypto::ParseVkey(key.key);
    if (!key.current() || key.key == held.vkey || !next.ok()) continue;
    absl::StatusOr<crypto::Checkpoint> rotated = crypto::VerifyCheckpoint(note, *next);
    if (rotated.ok() && rotated->origin == held.checkpoint.origin) return rotated;
  }
  return shown;
}

absl::Status CheckKeyContinuesLog(const VerifiedCheckpoint& held, const VerifiedCheckpoint& shown,
                                  const crypto::ServerKeys* certified) {
  if (shown.vkey == held.vkey) return absl::OkStatus();
  const uint64_t held_size = held.checkpoint.size, shown_size = shown.checkpoint.size;
  // Only the organisation can say that a new key is the server's (a rotation, temoin-server
  // keys switch); on the server's word alone another key is another log.
  const crypto::CertifiedKey* key =
      certified != nullptr ? certified->FindLogKey(shown.vkey) : nullptr;
  if (key == nullptr || !key->current()) {
    return Fork(held_size, shown_size,
                "the log key changed and the organisation has not certified the new one as "
                "current");
  }
  // The same tree under a new key keeps its name; another name is another log.
  if (shown.checkpoint.origin != held.checkpoint.origin) {
    return Fork(held_size, shown_size,
                absl::StrCat("the new log key names another log, ", shown.checkpoint.origin,
                             ", not ", held.checkpoint.origin));
  }
  return absl::OkStatus();
}

absl::StatusOr<VerifiedCheckpoint> VerifyLogAnswer(const v1::GetLogProofsResponse& answer,
                                                   absl::string_view receipt_public_key,
                                                   const std::optional<VerifiedCheckpoint>& held,
                                                   const crypto::ServerKeys* certified) {
  std::string vkey = answer.log_vkey();
  if (vkey.empty()) {
    // Left out because the device named it (GetLogProofsRequest.held_log_key): the key
    // held, which was tied to the receipt key (or certified) when it was stored.
    if (!held.has_value()) {
      return absl::UnauthenticatedError("the server sent no log key, and this device holds none");
    }
    vkey = held->vkey;
  } else if (absl::Status tied = crypto::VerifySignature(receipt_public_key, crypto::kLogKeyContext,
                                                         vkey, answer.log_vkey_signature());
             !tied.ok()) {
    return absl::UnauthenticatedError(
        "the log key is not signed by the server's receipt key pinned at enrolment");
  }
  TEMOIN_ASSIGN_OR_RETURN(crypto::NoteVerifier verifier, crypto::ParseVkey(vkey));
  TEMOIN_ASSIGN_OR_RETURN(crypto::Checkpoint checkpoint,
                          crypto::VerifyCheckpoint(answer.checkpoint(), verifier));
  VerifiedCheckpoint verified{std::move(checkpoint), answer.checkpoint(), std::move(vkey)};
  if (!held.has_value()) return verified;
  const uint64_t held_size = held->checkpoint.size, shown_size = verified.checkpoint.size;
  TEMOIN_RETURN_IF_ERROR(CheckKeyContinuesLog(*held, verified, certified));
  if (shown_size < held_size) return Rollback(held_size, shown_size);
  // Every tree extends the empty one (RFC 9162 has no proof from size 0).
  if (held_size == 0) return verified;
  absl::Status consistent =
      merkle::VerifyConsistency(held_size, shown_size, held->checkpoint.root,
                                verified.checkpoint.root, Hashes(answer.consistency()));
  if (!consistent.ok()) return Fork(held_size, shown_size, consistent.message());
  return verified;
}

absl::Status CheckCheckpointAgainstHeld(const v1::GetLogProofsResponse& answer,
                                        const VerifiedCheckpoint& held,
                                        const crypto::ServerKeys* certified) {
  // None: the server says its tree is larger than the held one, which the next sync with
  // something to send proves (or finds a fork in).
  if (answer.checkpoint().empty()) return absl::OkStatus();
  absl::StatusOr<crypto::Checkpoint> shown =
      VerifyUnderHeldOrCertified(answer.checkpoint(), held, certified);
  if (!shown.ok()) {
    return absl::UnauthenticatedError(
        "the server's checkpoint is not signed by the log key this device holds");
  }
  if (shown->size < held.checkpoint.size) return Rollback(held.checkpoint.size, shown->size);
  if (shown->size == held.checkpoint.size && shown->root != held.checkpoint.root) {
    return Fork(held.checkpoint.size, shown->size, "another root for the same size");
  }
  return absl::OkStatus();
}

absl::Status VerifyJointInclusion(const VerifiedCheckpoint& checkpoint,
                                  const std::vector<crypto::LogLeaf>& leaves,
                                  const v1::GetLogProofsResponse& answer) {
  std::vector<merkle::KnownLeaf> known;
  for (const crypto::LogLeaf& leaf : leaves) {
    if (leaf.log_index == 0) return absl::InvalidArgumentError("log indexes start at 1");
    known.push_back({leaf.log_index - 1, merkle::HashLeaf(crypto::EncodeLogLeaf(leaf))});
  }
  absl::Status included =
      merkle::VerifyMultiInclusion(std::move(known), checkpoint.checkpoint.size,
                                   Hashes(answer.joint_inclusion()), checkpoint.checkpoint.root);
  if (included.code() == absl::StatusCode::kDataLoss) {
    return absl::DataLossError(absl::StrCat(
        "the ", leaves.size(), " records at log indexes ", leaves.front().log_index, " to ",
        leaves.back().log_index, " are not all in the server's checkpoint of ",
        checkpoint.checkpoint.size, " leaves as their receipts say (", included.message(), ")"));
  }
  return included;
}

absl::Status VerifyInclusions(const VerifiedCheckpoint& checkpoint,
                              const std::vector<crypto::LogLeaf>& leaves,
                              const v1::GetLogProofsResponse& answer) {
  // A joint proof when the server sent no paths (either form binds each leaf to the
  // signed root, so the server may answer a joint request with paths).
  if (answer.inclusion_size() == 0 && !leaves.empty()) {
    return VerifyJointInclusion(checkpoint, leaves, answer);
  }
  if (static_cast<size_t>(answer.inclusion_size()) != leaves.size()) {
    return absl::InvalidArgumentError(absl::StrCat("the server sent ", answer.inclusion_size(),
                                                   " inclusion proofs for ", leaves.size(),
                                                   " records"));
  }
  for (size_t i = 0; i < leaves.size(); ++i) {
    const crypto::LogLeaf& leaf = leaves[i];
    const v1::LogInclusionProof& proof = answer.inclusion(static_cast<int>(i));
    if (proof.log_index() != leaf.log_index || leaf.log_index == 0) {
      return absl::InvalidArgumentError(absl::StrCat("inclusion proof ", i, " is for log index ",
                                                     proof.log_index(), ", not ", leaf.log_index));
    }
    absl::Status included = merkle::VerifyInclusion(
        merkle::HashLeaf(crypto::EncodeLogLeaf(leaf)), leaf.log_index - 1,
        checkpoint.checkpoint.size, Hashes(proof.hashes()), checkpoint.checkpoint.root);
    if (!included.ok()) {
      return absl::DataLossError(absl::StrCat(
          "the record at log index ", leaf.log_index, " is not in the server's checkpoint of ",
          checkpoint.checkpoint.size, " leaves as its receipt says (", included.message(), ")"));
    }
  }
  return absl::OkStatus();
}

absl::Status KeepLogEvidence(Vault& vault, const std::optional<VerifiedCheckpoint>& held,
                             const v1::GetLogProofsResponse& answer) {
  const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  const std::string name = absl::StrCat(ms);
  VaultBatch batch;
  if (held.has_value()) {
    batch.Put(kLogNs, absl::StrCat("evidence/", name, "-held"),
              absl::StrCat(held->vkey, "\n", held->note));
  }
  batch.Put(kLogNs, absl::StrCat("evidence/", name, "-received"),
            absl::StrCat(answer.log_vkey(), "\n", answer.checkpoint()));
  return vault.Commit(batch);
}

absl::StatusOr<bool> HoldsLogEvidence(Vault& vault) {
  bool found = false;
  TEMOIN_RETURN_IF_ERROR(vault.Scan(kLogNs, [&](absl::string_view name, absl::string_view) {
    found = absl::StartsWith(name, "evidence/");
    return !found;
  }));
  return found;
}

}  // namespace temoin::client
