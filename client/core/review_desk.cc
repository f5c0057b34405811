#include "client/core/review_desk.h"

#include <algorithm>
#include <map>

#include "client/core/device_state.h"
#include "common/status_macros.h"
#include "crypto/envelope.h"
#include "crypto/project_keys.h"
#include "crypto/receipt.h"

namespace temoin::client {
namespace {

struct EpochKey {
  std::string project_id;
  crypto::BoxKeyPair key;
};

// (project name, epoch) -> secret key, for every project this device holds secrets of.
absl::StatusOr<std::map<std::pair<std::string, uint32_t>, EpochKey>> LoadEpochKeys(
    Vault& vault, const v1::Profile& profile) {
  std::map<std::pair<std::string, uint32_t>, EpochKey> out;
  TEMOIN_ASSIGN_OR_RETURN(std::vector<v1::ProjectKeys> all, LoadAllProjectKeys(vault));
  for (const v1::ProjectKeys& keys : all) {
    for (const v1::SignedProjectKey& signed_key : keys.epochs()) {
      absl::StatusOr<v1::ProjectKeyBody> body =
          crypto::VerifyProjectKey(signed_key, profile.org_public_key());
      if (!body.ok()) continue;
      for (const v1::EpochKeySecret& secret : keys.secrets()) {
        if (secret.epoch() != body->epoch()) continue;
        absl::StatusOr<crypto::BoxKeyPair> pair =
            crypto::BoxKeyPair::FromSecretKey(secret.secret_key());
        if (!pair.ok() || pair->public_key() != body->public_key()) continue;
        out.emplace(std::make_pair(body->project_name(), body->epoch()),
                    EpochKey{body->project_id(), std::move(*pair)});
      }
    }
  }
  return out;
}

absl::StatusOr<v1::Testimony> OpenOne(
    const v1::FetchedEntry& entry, const v1::Profile& profile,
    const std::map<std::pair<std::string, uint32_t>, EpochKey>& keys) {
  TEMOIN_ASSIGN_OR_RETURN(crypto::VerifiedRecord verified,
                          crypto::VerifyRecord(entry.envelope(), entry.device_signing_key()));
  if (verified.header.device_id() != entry.device_id()) {
    return absl::UnauthenticatedError("record was signed by another device than listed");
  }
  TEMOIN_RETURN_IF_ERROR(crypto::VerifyReceipt(entry.receipt(), profile.server_signing_key(),
                                               verified.header.record_id(), verified.digest)
                             .status());
  for (const v1::RecipientRef& recipient : verified.header.recipients()) {
    auto it = keys.find({entry.project(), recipient.epoch()});
    if (it == keys.end()) continue;
    if (it->second.project_id != verified.header.project_id()) {
      return absl::UnauthenticatedError("record header names another project");
    }
    return crypto::OpenRecord(entry.envelope(), it->second.key);
  }
  return absl::NotFoundError("no granted key opens this record");
}

}  // namespace

absl::Status StoreGrant(Vault& vault, const v1::Grant& grant) {
  TEMOIN_ASSIGN_OR_RETURN(v1::Profile profile, LoadProfile(vault));
  TEMOIN_ASSIGN_OR_RETURN(v1::ProjectKeyBody body,
                          crypto::VerifyProjectKey(grant.key(), profile.org_public_key()));
  TEMOIN_ASSIGN_OR_RETURN(crypto::BoxKeyPair own_key, DeviceBoxKey(profile));
  TEMOIN_ASSIGN_OR_RETURN(
      crypto::BoxKeyPair epoch_key,
      crypto::UnwrapEpochSecret(grant.sealed_secret(), own_key, body.project_id(), body.epoch(),
                                body.public_key()));
  TEMOIN_ASSIGN_OR_RETURN(std::string project,
                          StoreSignedProjectKey(vault, grant.key(), profile.org_public_key()));
  TEMOIN_ASSIGN_OR_RETURN(v1::ProjectKeys keys, LoadProjectKeys(vault, project));
  for (const v1::EpochKeySecret& secret : keys.secrets()) {
    if (secret.epoch() == body.epoch()) return absl::OkStatus();
  }
  v1::EpochKeySecret* secret = keys.add_secrets();
  secret->set_epoch(body.epoch());
  secret->set_secret_key(std::string(epoch_key.secret_key().ExposeSecret()));
  VaultBatch batch;
  batch.Put(kProjectNs, project, keys.SerializeAsString());
  crypto::WipeString(*secret->mutable_secret_key());
  return vault.Commit(batch);
}

absl::StatusOr<bool> HasFetched(Vault& vault, absl::string_view record_id) {
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> value, vault.Get(kFetchedNs, record_id));
  return value.has_value();
}

absl::Status StoreFetched(Vault& vault, const std::vector<v1::FetchedRecord>& records) {
  VaultBatch batch;
  for (const v1::FetchedRecord& record : records) {
    v1::FetchedEntry entry;
    entry.set_project(record.summary().project());
    entry.set_device_id(record.summary().device_id());
    entry.set_device_seq(record.summary().device_seq());
    entry.set_log_index(record.summary().log_index());
    entry.set_received_at(record.summary().received_at());
    *entry.mutable_envelope() = record.envelope();
    entry.set_device_signing_key(record.device_signing_key());
    *entry.mutable_receipt() = record.receipt();
    batch.Put(kFetchedNs, record.summary().record_id(), entry.SerializeAsString());
  }
  return vault.Commit(batch);
}

absl::StatusOr<OpenedDesk> OpenDesk(Vault& vault) {
  TEMOIN_ASSIGN_OR_RETURN(v1::Profile profile, LoadProfile(vault));
  TEMOIN_ASSIGN_OR_RETURN(auto keys, LoadEpochKeys(vault, profile));
  OpenedDesk desk;
  absl::Status error;
  TEMOIN_RETURN_IF_ERROR(vault.Scan(kFetchedNs, [&](absl::string_view id, absl::string_view value) {
    v1::FetchedEntry entry;
    if (!entry.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      desk.failures.push_back({std::string(id), "stored copy does not parse"});
      return true;
    }
    absl::StatusOr<v1::Testimony> testimony = OpenOne(entry, profile, keys);
    if (!testimony.ok()) {
      desk.failures.push_back({std::string(id), std::string(testimony.status().message())});
      return true;
    }
    desk.records.push_back(OpenedRecord{std::string(id), entry.project(), entry.device_id(),
                                        entry.device_seq(), entry.log_index(), entry.received_at(),
                                        std::move(*testimony)});
    return true;
  }));
  std::sort(desk.records.begin(), desk.records.end(),
            [](const auto& a, const auto& b) { return a.log_index < b.log_index; });
  return desk;
}

}  // namespace temoin::client
