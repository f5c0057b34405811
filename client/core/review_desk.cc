#include "client/core/review_desk.h"

#include <algorithm>
#include <map>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "client/core/device_state.h"
#include "client/core/server_keys_state.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "crypto/device_certificate.h"
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

// Signature checks whose answer is the same for many records, remembered while one
// desk opens: a monitor's records all carry its one device certificate, and the records
// of one upload batch share one signed receipt root. Each is an Ed25519 verification, so
// checking each once instead of once a record halves the public-key work of an unlock.
// A certificate is remembered by its exact bytes, with the answer (good or bad) the
// check gave for them under this profile's organisation key. One per thread.
class ChainChecks {
 public:
  ChainChecks(const v1::Profile& profile, const ReceiptKeyRing& receipt_keys)
      : profile_(profile), receipt_keys_(receipt_keys) {}

  const absl::StatusOr<crypto::CertifiedDevice>& Certificate(const v1::DeviceCertificate& cert) {
    std::string bytes = cert.SerializeAsString();
    auto it = certificates_.find(bytes);
    if (it == certificates_.end()) {
      it = certificates_
               .emplace(std::move(bytes),
                        crypto::VerifyDeviceCertificate(cert, profile_.org_public_key()))
               .first;
    }
    return it->second;
  }

  const v1::Profile& profile() const { return profile_; }
  const ReceiptKeyRing& receipt_keys() const { return receipt_keys_; }
  crypto::VerifiedBatchSignatures& batch_signatures() { return batch_signatures_; }

 private:
  const v1::Profile& profile_;
  const ReceiptKeyRing& receipt_keys_;
  std::map<std::string, absl::StatusOr<crypto::CertifiedDevice>> certificates_;
  crypto::VerifiedBatchSignatures batch_signatures_;
};

// The chain of trust for one record; fills the signed ids and the receipt's index and
// time into `out`. Any broken link: kUnauthenticated naming it.
absl::Status VerifyChain(const v1::FetchedEntry& entry, absl::string_view served_id,
                         ChainChecks& checks, OpenedRecord& out) {
  if (!entry.has_device_certificate()) {
    return absl::UnauthenticatedError("the server sent no certificate for its device");
  }
  const absl::StatusOr<crypto::CertifiedDevice>& device =
      checks.Certificate(entry.device_certificate());
  if (!device.ok()) {
    return absl::UnauthenticatedError(
        "its device certificate does not verify against the organisation key");
  }
  absl::StatusOr<crypto::VerifiedRecord> verified =
      crypto::VerifyRecord(entry.envelope(), device->signing_public_key);
  if (!verified.ok()) {
    return absl::UnauthenticatedError(
        "the device signature does not verify with the certified key");
  }
  if (verified->header.device_id() != device->device_id) {
    return absl::UnauthenticatedError("it names another device than its certificate");
  }
  if (device->role != v1::ROLE_MONITOR || device->project_id != verified->header.project_id()) {
    return absl::UnauthenticatedError(
        "its device is not certified as a monitor of the record's project");
  }
  if (verified->header.record_id() != served_id) {
    return absl::UnauthenticatedError(
        absl::StrCat("the server served it under another record id (it is record ",
                     ToHex(verified->header.record_id()), ")"));
  }
  absl::StatusOr<std::string> receipt_key = checks.receipt_keys().KeyFor(entry.receipt());
  if (!receipt_key.ok()) return receipt_key.status();
  absl::StatusOr<v1::ReceiptBody> receipt =
      crypto::VerifyReceipt(entry.receipt(), *receipt_key, verified->header.record_id(),
                            verified->digest, checks.batch_signatures());
  if (!receipt.ok()) return absl::UnauthenticatedError("the server's receipt does not verify");
  if (!entry.log_refusal().empty()) {
    return absl::DataLossError(
        absl::StrCat("it is not in the server's transparency log (", entry.log_refusal(), ")"));
  }
  out.log_index = receipt->log_index();
  out.received_at = receipt->received_at();
  return absl::OkStatus();
}

// Names each field where the server's listing disagrees with the signed values.
void NoteListingMismatches(const v1::FetchedEntry& entry, const OpenedRecord& record,
                           std::vector<RecordFailure>& out) {
  auto note = [&](bool differs, const char* field) {
    if (differs) {
      out.push_back(
          {record.record_id, absl::StrCat("the server listed another ", field,
                                          " than the record signs; the signed value is shown")});
    }
  };
  note(entry.device_id() != record.device_id, "device_id");
  note(entry.device_seq() != record.device_seq, "device_seq");
  if (record.verified) {
    note(entry.log_index() != record.log_index, "log_index");
    note(entry.received_at() != record.received_at, "received_at");
  }
}

absl::StatusOr<OpenedRecord> OpenOne(
    const v1::FetchedEntry& entry, absl::string_view served_id, ChainChecks& checks,
    const std::map<std::pair<std::string, uint32_t>, EpochKey>& keys) {
  v1::RecordHeader header;
  if (!header.ParseFromString(entry.envelope().header())) {
    return absl::InvalidArgumentError("record header does not parse");
  }
  OpenedRecord out;
  out.record_id = std::string(served_id);
  out.project = entry.project();
  out.device_id = header.device_id();
  out.device_seq = header.device_seq();
  out.log_index = entry.log_index();
  out.received_at = entry.received_at();
  out.quarantined = entry.quarantined();
  absl::Status chain = VerifyChain(entry, served_id, checks, out);
  out.verified = chain.ok();
  if (!chain.ok()) out.unverified_reason = std::string(chain.message());
  for (const v1::RecipientRef& recipient : header.recipients()) {
    auto it = keys.find({entry.project(), recipient.epoch()});
    if (it == keys.end()) continue;
    if (it->second.project_id != header.project_id()) {
      return absl::UnauthenticatedError("record header names another project");
    }
    TEMOIN_ASSIGN_OR_RETURN(out.testimony, crypto::OpenRecord(entry.envelope(), it->second.key));
    return out;
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

size_t OpenedDesk::unverified() const {
  return static_cast<size_t>(std::count_if(records.begin(), records.end(),
                                           [](const OpenedRecord& r) { return !r.verified; }));
}

absl::StatusOr<bool> HasFetched(Vault& vault, absl::string_view record_id) {
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> value, vault.Get(kFetchedNs, record_id));
  return value.has_value();
}

absl::Status StoreFetched(Vault& vault, const std::vector<v1::FetchedRecord>& records,
                          const std::vector<std::string>& log_refusals) {
  VaultBatch batch;
  for (size_t i = 0; i < records.size(); ++i) {
    const v1::FetchedRecord& record = records[i];
    v1::FetchedEntry entry;
    if (i < log_refusals.size()) entry.set_log_refusal(log_refusals[i]);
    entry.set_project(record.summary().project());
    entry.set_device_id(record.summary().device_id());
    entry.set_device_seq(record.summary().device_seq());
    entry.set_log_index(record.summary().log_index());
    entry.set_received_at(record.summary().received_at());
    entry.set_quarantined(record.summary().quarantined());
    *entry.mutable_envelope() = record.envelope();
    entry.set_device_signing_key(record.device_signing_key());
    if (record.has_device_certificate()) {
      *entry.mutable_device_certificate() = record.device_certificate();
    }
    *entry.mutable_receipt() = record.receipt();
    batch.Put(kFetchedNs, record.summary().record_id(), entry.SerializeAsString());
  }
  return vault.Commit(batch);
}

absl::StatusOr<OpenedDesk> OpenDesk(Vault& vault) {
  TEMOIN_ASSIGN_OR_RETURN(v1::Profile profile, LoadProfile(vault));
  TEMOIN_ASSIGN_OR_RETURN(auto keys, LoadEpochKeys(vault, profile));
  TEMOIN_ASSIGN_OR_RETURN(ReceiptKeyRing receipt_keys, ReceiptKeyRing::Load(vault, profile));
  // Read every stored copy first (they hold only what the server stores: sealed bodies,
  // signatures, receipts), then open them on every core: each opening is independent.
  std::vector<std::pair<std::string, v1::FetchedEntry>> entries;
  OpenedDesk desk;
  TEMOIN_RETURN_IF_ERROR(vault.Scan(kFetchedNs, [&](absl::string_view id, absl::string_view value) {
    v1::FetchedEntry entry;
    if (!entry.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      desk.failures.push_back({std::string(id), "stored copy does not parse"});
      return true;
    }
    entries.emplace_back(std::string(id), std::move(entry));
    return true;
  }));
  std::vector<std::optional<absl::StatusOr<OpenedRecord>>> opened(entries.size());
  auto open_share = [&](size_t first, size_t step) {
    ChainChecks checks(profile, receipt_keys);
    for (size_t i = first; i < entries.size(); i += step) {
      opened[i] = OpenOne(entries[i].second, entries[i].first, checks, keys);
    }
  };
  const size_t workers = std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 4);
  {
    std::vector<std::jthread> threads;
    for (size_t w = 1; w < workers && w < entries.size(); ++w) {
      threads.emplace_back(open_share, w, workers);
    }
    open_share(0, workers);
  }  // the jthreads join here
  for (size_t i = 0; i < entries.size(); ++i) {
    absl::StatusOr<OpenedRecord>& record = *opened[i];
    if (!record.ok()) {
      desk.failures.push_back({entries[i].first, std::string(record.status().message())});
      continue;
    }
    NoteListingMismatches(entries[i].second, *record, desk.listing_mismatches);
    desk.records.push_back(std::move(*record));
  }
  std::sort(desk.records.begin(), desk.records.end(),
            [](const auto& a, const auto& b) { return a.log_index < b.log_index; });
  return desk;
}

absl::StatusOr<v1::FetchedEntry> LoadFetched(Vault& vault, absl::string_view record_id) {
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> bytes, vault.Get(kFetchedNs, record_id));
  if (!bytes.has_value()) return absl::NotFoundError("no such record on this reviewer's desk");
  v1::FetchedEntry entry;
  if (!entry.ParseFromString(*bytes)) return absl::DataLossError("fetched record is damaged");
  return entry;
}

absl::StatusOr<crypto::SecretBuffer> FetchedDataKey(Vault& vault, const v1::FetchedEntry& entry) {
  v1::RecordHeader header;
  if (!header.ParseFromString(entry.envelope().header())) {
    return absl::DataLossError("fetched record is damaged");
  }
  TEMOIN_ASSIGN_OR_RETURN(v1::Profile profile, LoadProfile(vault));
  TEMOIN_ASSIGN_OR_RETURN(auto keys, LoadEpochKeys(vault, profile));
  for (const v1::RecipientRef& recipient : header.recipients()) {
    auto it = keys.find({entry.project(), recipient.epoch()});
    if (it == keys.end() || it->second.project_id != header.project_id()) continue;
    return crypto::UnwrapDataKey(entry.envelope(), it->second.key);
  }
  return absl::NotFoundError("no granted key opens this record");
}

RecordRefs RefsTo(const std::vector<OpenedRecord>& records) {
  RecordRefs refs;
  refs.reserve(records.size());
  for (const OpenedRecord& r : records) refs.push_back(&r);
  return refs;
}

}  // namespace temoin::client
