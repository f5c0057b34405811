#include "client/core/owed_proofs.h"

#include <algorithm>

#include "client/core/outbox.h"
#include "common/status_macros.h"

namespace temoin::client {

absl::Status MarkProofsOwed(Vault& vault, const std::vector<std::string>& record_ids) {
  if (record_ids.empty()) return absl::OkStatus();
  VaultBatch batch;
  for (const std::string& id : record_ids) batch.Put(kOwedProofsNs, id, "");
  return vault.Commit(batch);
}

absl::Status MarkProven(Vault& vault, const std::vector<std::string>& record_ids) {
  if (record_ids.empty()) return absl::OkStatus();
  VaultBatch batch;
  for (const std::string& id : record_ids) batch.Delete(kOwedProofsNs, id);
  return vault.Commit(batch);
}

absl::StatusOr<std::vector<std::string>> OwedProofs(Vault& vault) {
  std::vector<std::string> marked;
  TEMOIN_RETURN_IF_ERROR(vault.Scan(kOwedProofsNs, [&](absl::string_view name, absl::string_view) {
    marked.emplace_back(name);
    return true;
  }));
  std::vector<std::string> owed, gone;
  for (std::string& id : marked) {
    TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> entry, vault.Get(kOutboxNs, id));
    (entry.has_value() ? owed : gone).push_back(std::move(id));
  }
  TEMOIN_RETURN_IF_ERROR(MarkProven(vault, gone));
  std::sort(owed.begin(), owed.end());
  return owed;
}

}  // namespace temoin::client
