#ifndef TEMOIN_CLIENT_CORE_DRAFTS_H_
#define TEMOIN_CLIENT_CORE_DRAFTS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/vault/vault.h"
#include "temoin/v1/testimony.pb.h"

// Drafts: testimonies still being written, readable and editable on the device, under
// the vault key only (unlike sealed records, which the device can no longer open).
//   draft/<id>         the Testimony (possibly incomplete)
//   draft_index/<id>   empty: lets status count drafts without opening any
// Sealing a draft deletes it in the same durable commit that stores the sealed record
// (SealTestimonies' consumed_drafts), so a crash leaves one or the other, never both.
namespace temoin::client {

inline constexpr char kDraftNs[] = "draft";
inline constexpr char kDraftIndexNs[] = "draft_index";

// Saves `testimony` as a new draft (id empty) or over an existing one. Returns the id
// (16 hex characters). Incomplete testimonies are fine; codes are checked at sealing.
// kNotFound when `id` names no draft.
absl::StatusOr<std::string> SaveDraft(Vault& vault, const v1::Testimony& testimony,
                                      const std::string& id = "");

// kNotFound when there is no such draft.
absl::StatusOr<v1::Testimony> LoadDraft(Vault& vault, const std::string& id);

// Ids of every draft.
absl::StatusOr<std::vector<std::string>> ListDrafts(Vault& vault);
absl::StatusOr<uint64_t> CountDrafts(Vault& vault);

// kNotFound when there is no such draft.
absl::Status DeleteDraft(Vault& vault, const std::string& id);
// Adds the deletion of a draft to `batch` (for SealTestimonies).
void DeleteDraftIn(VaultBatch& batch, const std::string& id);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_CORE_DRAFTS_H_
