#ifndef TEMOIN_CLIENT_CORE_WITNESS_POLICY_H_
#define TEMOIN_CLIENT_CORE_WITNESS_POLICY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/core/log_state.h"
#include "client/vault/vault.h"
#include "crypto/cosignature.h"

// Which witnesses must have cosigned (c2sp.org/tlog-cosignature) a checkpoint before this
// device accepts it, set on the device itself (`temoin log require-witness`), never by
// the server: the rule is there to catch a server that shows devices different
// histories, so the server must not be able to lift it.
//   tlogw/w/<witness name>   the witness's cosigner vkey (type 0x04)
//   tlogw/min                K, decimal: cosignatures required (0 or absent: none)
namespace temoin::client {

inline constexpr char kWitnessNs[] = "tlogw";

struct WitnessPolicy {
  std::vector<crypto::CosignerVerifier> witnesses;
  std::vector<std::string> vkeys;  // in the same order
  uint32_t min = 0;
};

absl::StatusOr<WitnessPolicy> LoadWitnessPolicy(Vault& vault);

// Adds `vkey` (untrusted text; kInvalidArgument if it is not a cosigner vkey) and sets K
// to `min`, or, when `min` is negative, to max(K, 1). kInvalidArgument if K would exceed
// the number of witnesses known (no checkpoint could ever pass).
absl::Status RequireWitness(Vault& vault, absl::string_view vkey, int min);
// Sets K alone (0 lifts the requirement). kInvalidArgument as above.
absl::Status SetWitnessMinimum(Vault& vault, uint32_t min);

// Checks that `checkpoint`'s note carries valid cosignatures of at least `policy.min`
// of the policy's witnesses. kFailedPrecondition naming the tree size, how many were
// found and which witnesses are missing; kUnauthenticated naming the witness whose
// line does not verify (a forged or misplaced cosignature).
absl::Status CheckWitnessQuorum(const VerifiedCheckpoint& checkpoint, const WitnessPolicy& policy);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_CORE_WITNESS_POLICY_H_
