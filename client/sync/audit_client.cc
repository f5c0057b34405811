#include "client/sync/audit_client.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "client/core/device_state.h"
#include "client/sync/admin_client.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "crypto/keys.h"

namespace temoin::client {
namespace {

// Must match server/core/audit_log.h (client and server share only the protocol).
constexpr absl::string_view kChainContext = "temoin/audit/v1";
constexpr absl::string_view kHeadContext = "temoin/audit-head/v1";
constexpr char kAuditHeadName[] = "audit_head";

absl::Status Broken(absl::string_view why) {
  return absl::DataLossError(absl::StrCat("audit log does not verify: ", why));
}

}  // namespace

std::string FormatAuditEntry(const v1::AuditEntry& entry) {
  std::string time =
      absl::FormatTime("%Y-%m-%dT%H:%MZ", absl::FromUnixSeconds(entry.time()), absl::UTCTimeZone());
  return absl::StrCat(entry.index(), "\t", time, "\t",
                      entry.actor_device_id().empty() ? "server" : ToHex(entry.actor_device_id()),
                      "\t", entry.action(), "\t",
                      entry.object().empty() ? "-" : ToHex(entry.object()), "\t",
                      entry.project().empty() ? "-" : entry.project());
}

absl::StatusOr<AuditTrail> FetchAuditTrail(Vault& vault, bool verify) {
  TEMOIN_ASSIGN_OR_RETURN(AdminSession session, SignInAsAdmin(vault));
  AuditTrail trail;
  std::string chain(32, '\0');
  std::vector<std::string> hashes;  // chain hash after each entry
  v1::GetAuditLogResponse page;
  uint64_t after = 0;
  do {
    v1::GetAuditLogRequest request;
    request.set_after_index(after);
    TEMOIN_RETURN_IF_ERROR(FromGrpc(session.connection->admin().GetAuditLog(
                                        session.connection->NewContext().get(), request, &page),
                                    session.connection->address()));
    for (const std::string& bytes : page.entries()) {
      v1::AuditEntry entry;
      if (!entry.ParseFromString(bytes))
        return Broken(absl::StrCat("entry ", after + 1, " does not parse"));
      if (entry.index() != after + 1)
        return Broken(absl::StrCat("entry ", after + 1, " is missing"));
      after = entry.index();
      chain = crypto::Hash256(kChainContext, absl::StrCat(chain, bytes));
      hashes.push_back(chain);
      trail.entries.push_back(std::move(entry));
    }
  } while (page.more() && !page.entries().empty());
  if (!verify) return trail;

  if (!crypto::VerifySignature(session.profile.server_signing_key(), kHeadContext,
                               absl::StrCat(EncodeU64BigEndian(page.head_size()), page.head_hash()),
                               page.head_signature())
           .ok()) {
    return Broken("the head is not signed by this server's key");
  }
  if (after != page.head_size()) return Broken("the log is shorter than its head");
  if (chain != page.head_hash()) {
    return Broken("recomputed chain does not match the signed head (an entry was altered)");
  }
  // The log must extend what this device verified before: a rewritten history fails.
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> last, vault.Get(kSettingsNs, kAuditHeadName));
  if (last.has_value() && last->size() == 8 + 32) {
    uint64_t size = DecodeU64BigEndian(absl::string_view(*last).substr(0, 8));
    if (size > hashes.size() || (size > 0 && hashes[size - 1] != last->substr(8))) {
      return Broken(
          absl::StrCat("the log no longer extends the head verified earlier (size ", size, ")"));
    }
  }
  VaultBatch batch;
  batch.Put(kSettingsNs, kAuditHeadName, absl::StrCat(EncodeU64BigEndian(after), chain));
  TEMOIN_RETURN_IF_ERROR(vault.Commit(batch));
  trail.verified = true;
  return trail;
}

}  // namespace temoin::client
