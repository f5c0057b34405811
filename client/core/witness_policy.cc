#include "client/core/witness_policy.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"

namespace temoin::client {
namespace {

constexpr char kMinKey[] = "min";
constexpr absl::string_view kWitnessPrefix = "w/";

absl::Status CheckMinimum(uint32_t min, size_t known) {
  if (min > known) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot require ", min, " cosignatures from ", known, " known witnesses"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<WitnessPolicy> LoadWitnessPolicy(Vault& vault) {
  WitnessPolicy policy;
  absl::Status parsed = absl::OkStatus();
  TEMOIN_RETURN_IF_ERROR(
      vault.Scan(kWitnessNs, [&](absl::string_view name, absl::string_view value) {
        if (name == kMinKey) {
          if (!absl::SimpleAtoi(value, &policy.min)) parsed = absl::DataLossError("tlogw/min");
        } else if (absl::StartsWith(name, kWitnessPrefix)) {
          absl::StatusOr<crypto::CosignerVerifier> verifier = crypto::ParseCosignerVkey(value);
          if (!verifier.ok()) {
            parsed = absl::DataLossError(absl::StrCat("tlogw/", name, " is not a witness vkey"));
          } else {
            policy.witnesses.push_back(*std::move(verifier));
            policy.vkeys.emplace_back(value);
          }
        }
        return parsed.ok();
      }));
  TEMOIN_RETURN_IF_ERROR(parsed);
  return policy;
}

absl::Status RequireWitness(Vault& vault, absl::string_view vkey, int min) {
  TEMOIN_ASSIGN_OR_RETURN(crypto::CosignerVerifier verifier, crypto::ParseCosignerVkey(vkey));
  TEMOIN_ASSIGN_OR_RETURN(WitnessPolicy policy, LoadWitnessPolicy(vault));
  size_t known = policy.witnesses.size();
  bool replaced = false;
  for (const crypto::CosignerVerifier& w : policy.witnesses)
    replaced = replaced || w.name == verifier.name;
  if (!replaced) ++known;
  const uint32_t new_min = min < 0 ? std::max<uint32_t>(policy.min, 1) : static_cast<uint32_t>(min);
  TEMOIN_RETURN_IF_ERROR(CheckMinimum(new_min, known));
  VaultBatch batch;
  batch.Put(kWitnessNs, absl::StrCat(kWitnessPrefix, verifier.name), vkey);
  batch.Put(kWitnessNs, kMinKey, absl::StrCat(new_min));
  return vault.Commit(batch);
}

absl::Status SetWitnessMinimum(Vault& vault, uint32_t min) {
  TEMOIN_ASSIGN_OR_RETURN(WitnessPolicy policy, LoadWitnessPolicy(vault));
  TEMOIN_RETURN_IF_ERROR(CheckMinimum(min, policy.witnesses.size()));
  return vault.Put(kWitnessNs, kMinKey, absl::StrCat(min));
}

absl::Status CheckWitnessQuorum(const VerifiedCheckpoint& checkpoint, const WitnessPolicy& policy) {
  if (policy.min == 0) return absl::OkStatus();
  TEMOIN_ASSIGN_OR_RETURN(crypto::NoteParts parts, crypto::SplitNote(checkpoint.note));
  TEMOIN_ASSIGN_OR_RETURN(
      std::vector<crypto::VerifiedCosignature> found,
      crypto::VerifyCosignatures(parts.text, parts.signature_lines, policy.witnesses));
  if (found.size() >= policy.min) return absl::OkStatus();
  std::vector<std::string> missing;
  for (const crypto::CosignerVerifier& w : policy.witnesses) {
    bool present = false;
    for (const crypto::VerifiedCosignature& f : found) present = present || f.name == w.name;
    if (!present) missing.push_back(w.name);
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "the server's checkpoint of ", checkpoint.checkpoint.size, " leaves carries ", found.size(),
      " of the ", policy.min,
      " witness cosignatures this device requires (missing: ", absl::StrJoin(missing, ", "),
      "): the witnesses may be down, or may have refused this log's history"));
}

}  // namespace temoin::client
