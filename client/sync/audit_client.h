#ifndef TEMOIN_CLIENT_SYNC_AUDIT_CLIENT_H_
#define TEMOIN_CLIENT_SYNC_AUDIT_CLIENT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/vault/vault.h"
#include "temoin/v1/admin.pb.h"

namespace temoin::client {

struct AuditTrail {
  std::vector<v1::AuditEntry> entries;
  // Set by `verify`: the chain recomputed here matches the head the server signed with
  // its receipt key, and extends the head this device verified last time.
  bool verified = false;
};

// Reads the server's whole audit log (admin). With `verify`, recomputes the hash chain
// from the stored entry bytes, checks the head signature against the server key pinned
// at enrolment and that the log extends the head seen last time (kept in the vault), and
// fails with kDataLoss "audit log does not verify: ..." naming the first bad index.
absl::StatusOr<AuditTrail> FetchAuditTrail(Vault& vault, bool verify);

// One line of `temoin audit`: index, time (UTC, to the minute), actor, action, object,
// project. Ids in hex; nothing else is in the log.
std::string FormatAuditEntry(const v1::AuditEntry& entry);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_SYNC_AUDIT_CLIENT_H_
