#include "client/core/grant_book.h"

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"

namespace temoin::client {
namespace {

std::string BookKey(const std::string& project, const std::string& reviewer_id) {
  return absl::StrCat(project, std::string(1, '\0'), reviewer_id);
}

// Every verified record in the book.
absl::StatusOr<std::vector<v1::GrantRecordBody>> AllGrants(Vault& vault,
                                                           absl::string_view org_public_key) {
  std::vector<v1::GrantRecordBody> out;
  absl::Status bad;
  TEMOIN_RETURN_IF_ERROR(vault.Scan(kGrantBookNs, [&](absl::string_view, absl::string_view value) {
    v1::GrantRecord record;
    absl::StatusOr<v1::GrantRecordBody> body =
        record.ParseFromArray(value.data(), static_cast<int>(value.size()))
            ? crypto::VerifyGrantRecord(record, org_public_key)
            : absl::InvalidArgumentError("does not parse");
    if (!body.ok()) {
      bad = absl::DataLossError("a grant record in this vault does not verify");
      return false;
    }
    out.push_back(std::move(*body));
    return true;
  }));
  TEMOIN_RETURN_IF_ERROR(bad);
  return out;
}

}  // namespace

absl::Status RecordGrant(Vault& vault, const crypto::SigningKey& org_key,
                         const std::string& project, const std::string& project_id,
                         const crypto::CertifiedDevice& reviewer, int64_t now) {
  v1::GrantRecordBody body;
  body.set_project(project);
  body.set_project_id(project_id);
  body.set_reviewer_device_id(reviewer.device_id);
  body.set_signing_public_key(reviewer.signing_public_key);
  body.set_box_public_key(reviewer.box_public_key);
  body.set_granted_at(now - now % 60);
  VaultBatch batch;
  batch.Put(kGrantBookNs, BookKey(project, reviewer.device_id),
            crypto::SignGrantRecord(body, org_key).SerializeAsString());
  return vault.Commit(batch);
}

absl::Status ForgetGrant(Vault& vault, const std::string& project, const std::string& reviewer_id) {
  VaultBatch batch;
  batch.Delete(kGrantBookNs, BookKey(project, reviewer_id));
  return vault.Commit(batch);
}

absl::StatusOr<std::vector<v1::GrantRecordBody>> GrantsOf(Vault& vault,
                                                          absl::string_view org_public_key,
                                                          const std::string& project) {
  TEMOIN_ASSIGN_OR_RETURN(std::vector<v1::GrantRecordBody> all, AllGrants(vault, org_public_key));
  std::vector<v1::GrantRecordBody> out;
  for (v1::GrantRecordBody& body : all) {
    if (body.project() == project) out.push_back(std::move(body));
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> ProjectsGrantedTo(Vault& vault,
                                                           absl::string_view org_public_key,
                                                           const std::string& reviewer_id) {
  TEMOIN_ASSIGN_OR_RETURN(std::vector<v1::GrantRecordBody> all, AllGrants(vault, org_public_key));
  std::vector<std::string> out;
  for (const v1::GrantRecordBody& body : all) {
    if (body.reviewer_device_id() == reviewer_id) out.push_back(body.project());
  }
  return out;
}

}  // namespace temoin::client
