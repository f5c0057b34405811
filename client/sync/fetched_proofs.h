#ifndef TEMOIN_CLIENT_SYNC_FETCHED_PROOFS_H_
#define TEMOIN_CLIENT_SYNC_FETCHED_PROOFS_H_

#include <vector>

#include "absl/status/status.h"
#include "client/sync/connection.h"
#include "client/vault/vault.h"
#include "temoin/v1/identity.pb.h"
#include "temoin/v1/review.pb.h"

// Reviewers check that what the server serves them is what its transparency log holds
// (issue 9): a server that shows devices one history and reviewers another, or that
// rewrites a receipt it can sign (a backdated arrival), serves records whose leaves are
// not in the log the devices checked.
namespace temoin::client {

// For each fetched record, its log leaf rebuilt from the device-signed header, the
// envelope's digest and the receipt (index, arrival hour), proven in the server's
// checkpoint with one joint proof. When that fails, each record is proven alone and
// those whose proof fails (or whose index the log does not reach) get the reason in
// `log_refusals` (same order as `records`; empty when proven or not checkable, e.g. a
// receipt that does not parse, which the desk marks anyway). A fork or rollback is
// returned as the error (kDataLoss) and stops the pull; so does a network error.
absl::Status ProveFetched(Vault& vault, Connection& connection, const v1::Profile& profile,
                          const std::vector<v1::FetchedRecord>& records,
                          std::vector<std::string>& log_refusals);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_SYNC_FETCHED_PROOFS_H_
