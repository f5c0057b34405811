#ifndef TEMOIN_CLIENT_CORE_COVER_SELECTION_H_
#define TEMOIN_CLIENT_CORE_COVER_SELECTION_H_

#include "client/vault/vault.h"

namespace temoin::client {

// What vault.cover carries (issue 12): the enrolment a duress unlock rebuilds, so that
// the device looks like a monitor who has sent everything. In order of importance
// (Vault::RefreshCover leaves out what does not fit): the profile (ids, server, pins,
// the device's keys), settings (vocabulary, bundle key, sign-in nonce), project keys,
// the held log checkpoint and witness policy, the grant book, and the receipts of
// records the server already holds (outbox entries PURGED or RECEIVED). Never drafts,
// sealed records not yet receipted, attachments, relayed bundles or fetched records.
CoverSelection EnrolmentCoverSelection();

// Rewrites vault.cover from `vault` (after a sync, whatever its result).
absl::Status RefreshEnrolmentCover(Vault& vault);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_CORE_COVER_SELECTION_H_
