#include "client/core/drafts.h"

#include <algorithm>

#include "common/encoding.h"
#include "common/status_macros.h"
#include "crypto/keys.h"
#include "crypto/secret_buffer.h"

namespace temoin::client {

absl::StatusOr<std::string> SaveDraft(Vault& vault, const v1::Testimony& testimony,
                                      const std::string& id) {
  std::string draft_id = id;
  if (draft_id.empty()) {
    draft_id = ToHex(crypto::RandomBytes(8));
  } else {
    TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> existing, vault.Get(kDraftIndexNs, id));
    if (!existing.has_value()) return absl::NotFoundError("no draft with that id");
  }
  std::string bytes = testimony.SerializeAsString();
  VaultBatch batch;
  batch.Put(kDraftNs, draft_id, bytes);
  batch.Put(kDraftIndexNs, draft_id, "");
  crypto::WipeString(bytes);
  TEMOIN_RETURN_IF_ERROR(vault.Commit(batch));
  return draft_id;
}

absl::StatusOr<v1::Testimony> LoadDraft(Vault& vault, const std::string& id) {
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> bytes, vault.Get(kDraftNs, id));
  if (!bytes.has_value()) return absl::NotFoundError("no draft with that id");
  v1::Testimony testimony;
  bool ok = testimony.ParseFromString(*bytes);
  crypto::WipeString(*bytes);
  if (!ok) return absl::DataLossError("draft does not parse");
  return testimony;
}

absl::StatusOr<std::vector<std::string>> ListDrafts(Vault& vault) {
  std::vector<std::string> ids;
  TEMOIN_RETURN_IF_ERROR(vault.Scan(kDraftIndexNs, [&](absl::string_view name, absl::string_view) {
    ids.emplace_back(name);
    return true;
  }));
  std::sort(ids.begin(), ids.end());
  return ids;
}

absl::StatusOr<uint64_t> CountDrafts(Vault& vault) {
  uint64_t count = 0;
  TEMOIN_RETURN_IF_ERROR(vault.Scan(kDraftIndexNs, [&](absl::string_view, absl::string_view) {
    ++count;
    return true;
  }));
  return count;
}

void DeleteDraftIn(VaultBatch& batch, const std::string& id) {
  batch.Delete(kDraftNs, id);
  batch.Delete(kDraftIndexNs, id);
}

absl::Status DeleteDraft(Vault& vault, const std::string& id) {
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> existing, vault.Get(kDraftIndexNs, id));
  if (!existing.has_value()) return absl::NotFoundError("no draft with that id");
  VaultBatch batch;
  DeleteDraftIn(batch, id);
  return vault.Commit(batch);
}

}  // namespace temoin::client
