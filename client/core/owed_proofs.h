#ifndef TEMOIN_CLIENT_CORE_OWED_PROOFS_H_
#define TEMOIN_CLIENT_CORE_OWED_PROOFS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/vault/vault.h"

// Which records still owe an inclusion proof (issue 9). A record is marked before it is
// sent and unmarked once a proof that it is in the log has verified, so that a sync cut
// after its receipts (which purge the sealed copies) and before its proofs leaves the
// proofs owed, and the next sync that reaches the server asks for them.
//   tlogo/<record id>   "" (the leaf is rebuilt from the outbox entry's receipt)
namespace temoin::client {

inline constexpr char kOwedProofsNs[] = "tlogo";

absl::Status MarkProofsOwed(Vault& vault, const std::vector<std::string>& record_ids);
absl::Status MarkProven(Vault& vault, const std::vector<std::string>& record_ids);

// The records marked as owing a proof, sorted. A record no longer in the outbox (it can
// be proven by nothing this device holds) is unmarked here.
absl::StatusOr<std::vector<std::string>> OwedProofs(Vault& vault);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_CORE_OWED_PROOFS_H_
