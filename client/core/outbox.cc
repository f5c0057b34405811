#include "client/core/outbox.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "client/core/attachments.h"
#include "client/core/device_state.h"
#include "client/core/drafts.h"
#include "client/core/server_keys_state.h"
#include "common/status_macros.h"
#include "common/vocabulary.h"
#include "crypto/envelope.h"
#include "crypto/project_keys.h"
#include "crypto/receipt.h"

namespace temoin::client {
namespace {

// The newest epoch of the device's project, verified against the pinned org key.
absl::StatusOr<crypto::Recipient> CurrentRecipient(Vault& vault, const v1::Profile& profile) {
  TEMOIN_ASSIGN_OR_RETURN(v1::ProjectKeys keys, LoadProjectKeys(vault, profile.project()));
  std::optional<crypto::Recipient> newest;
  for (const v1::SignedProjectKey& signed_key : keys.epochs()) {
    TEMOIN_ASSIGN_OR_RETURN(v1::ProjectKeyBody body,
                            crypto::VerifyProjectKey(signed_key, profile.org_public_key()));
    if (body.project_id() != profile.project_id()) continue;
    if (!newest.has_value() || body.epoch() > newest->epoch) {
      newest = crypto::Recipient{body.public_key(), body.epoch()};
    }
  }
  if (!newest.has_value()) {
    return absl::FailedPreconditionError(
        "no signed key for this device's project; run temoin sync");
  }
  return *newest;
}

const char* StateName(v1::RecordState state) {
  switch (state) {
    case v1::RECORD_STATE_DRAFT:
      return "draft";
    case v1::RECORD_STATE_SEALED:
      return "sealed";
    case v1::RECORD_STATE_COMMITTED:
      return "committed";
    case v1::RECORD_STATE_RECEIVED:
      return "received";
    case v1::RECORD_STATE_PURGED:
      return "purged";
    default:
      return "unknown";
  }
}

// `receipt` verified for `entry`: replaces the sealed copy (or keeps it, RECEIVED).
void SettleInBatch(VaultBatch& batch, const std::string& record_id, v1::OutboxEntry& entry,
                   const v1::Receipt& receipt, bool keep_after_receipt);

}  // namespace

absl::StatusOr<std::vector<SealedRecord>> SealTestimonies(
    Vault& vault, const std::vector<v1::Testimony>& testimonies, const SealOptions& options) {
  const std::vector<std::string>& attach_paths = options.attach_paths;
  const bool in_memory = options.attach_in_memory != nullptr && !options.attach_in_memory->empty();
  if ((!attach_paths.empty() || in_memory) && testimonies.size() != 1) {
    return absl::InvalidArgumentError(
        "--attach needs exactly one testimony (not an array in --from)");
  }
  TEMOIN_ASSIGN_OR_RETURN(v1::Profile profile, LoadProfile(vault));
  if (profile.role() != v1::ROLE_MONITOR) {
    return absl::FailedPreconditionError(absl::StrCat(
        "only monitors record testimonies; this device is a ", RoleName(profile.role())));
  }
  TEMOIN_ASSIGN_OR_RETURN(v1::Vocabulary vocabulary, LoadVocabulary(vault));
  for (size_t i = 0; i < testimonies.size(); ++i) {
    if (absl::Status s = ValidateTestimony(testimonies[i], vocabulary); !s.ok()) {
      std::string where = testimonies.size() > 1 ? absl::StrCat("testimony ", i, ": ") : "";
      return absl::InvalidArgumentError(absl::StrCat(where, s.message()));
    }
  }
  TEMOIN_ASSIGN_OR_RETURN(crypto::Recipient recipient, CurrentRecipient(vault, profile));
  TEMOIN_ASSIGN_OR_RETURN(crypto::SigningKey device_key, DeviceSigningKey(profile));

  VaultBatch batch;
  std::vector<SealedRecord> sealed;
  uint64_t seq = std::max<uint64_t>(profile.next_seq(), 1);
  // Slices of a previous attempt that crashed before its record was stored.
  TEMOIN_RETURN_IF_ERROR(CollectOrphanAttachments(vault));
  std::vector<PreparedAttachment> prepared;
  for (const std::string& path : attach_paths) {
    TEMOIN_ASSIGN_OR_RETURN(
        PreparedAttachment attachment,
        StoreAttachmentFile(vault, path, options.max_attachment_bytes, options.keep_metadata));
    batch.Delete(kAttachPendingNs, attachment.ref.blob_id());
    prepared.push_back(std::move(attachment));
  }
  if (in_memory) {
    for (const InMemoryAttachment& file : *options.attach_in_memory) {
      TEMOIN_ASSIGN_OR_RETURN(
          PreparedAttachment attachment,
          StoreAttachmentBytes(vault, file, options.max_attachment_bytes, options.keep_metadata));
      batch.Delete(kAttachPendingNs, attachment.ref.blob_id());
      prepared.push_back(std::move(attachment));
    }
  }
  for (const v1::Testimony& original : testimonies) {
    crypto::SealParams params;
    params.device_seq = seq;
    params.project_id = profile.project_id();
    params.device_id = profile.device_id();
    params.recipients = {recipient};
    v1::Testimony testimony = original;
    for (PreparedAttachment& attachment : prepared) {
      *testimony.add_attachments() = attachment.info;
      params.attachments.push_back(attachment.ref);
      crypto::WipeString(*attachment.info.mutable_key());
    }
    absl::StatusOr<v1::Envelope> sealed_envelope =
        crypto::SealRecord(testimony, params, device_key);
    for (v1::AttachmentInfo& info : *testimony.mutable_attachments()) {
      crypto::WipeString(*info.mutable_key());
    }
    TEMOIN_ASSIGN_OR_RETURN(v1::Envelope envelope, std::move(sealed_envelope));
    v1::RecordHeader header;
    if (!header.ParseFromString(envelope.header())) {
      return absl::InternalError("sealed header does not parse");
    }
    v1::OutboxEntry entry;
    entry.set_state(v1::RECORD_STATE_SEALED);
    entry.set_device_seq(seq);
    *entry.mutable_envelope() = std::move(envelope);
    batch.Put(kOutboxNs, header.record_id(), entry.SerializeAsString());
    sealed.push_back({header.record_id(), seq});
    ++seq;
  }
  // The counter moves in the same durable commit as the records, so a gap in
  // device_seq on the server always means a record that has not arrived.
  profile.set_next_seq(seq);
  PutProfile(batch, profile);
  // A sealed draft leaves in the same commit: never both, never neither.
  for (const std::string& draft : options.consumed_drafts) DeleteDraftIn(batch, draft);
  TEMOIN_RETURN_IF_ERROR(vault.Commit(batch));
  return sealed;
}

absl::StatusOr<std::vector<v1::OutboxEntry>> PendingRecords(Vault& vault) {
  std::vector<v1::OutboxEntry> pending;
  absl::Status error;
  TEMOIN_RETURN_IF_ERROR(vault.Scan(kOutboxNs, [&](absl::string_view, absl::string_view value) {
    v1::OutboxEntry entry;
    if (!entry.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      error = absl::DataLossError("outbox entry does not parse");
      return false;
    }
    if (entry.state() == v1::RECORD_STATE_SEALED || entry.state() == v1::RECORD_STATE_COMMITTED) {
      pending.push_back(std::move(entry));
    }
    return true;
  }));
  TEMOIN_RETURN_IF_ERROR(error);
  std::sort(pending.begin(), pending.end(),
            [](const auto& a, const auto& b) { return a.device_seq() < b.device_seq(); });
  return pending;
}

absl::Status ApplyBatchReceipt(Vault& vault, const v1::BatchReceipt& batch_receipt,
                               const std::vector<std::pair<std::string, uint64_t>>& leaves) {
  if (leaves.empty()) return absl::OkStatus();
  TEMOIN_ASSIGN_OR_RETURN(v1::Profile profile, LoadProfile(vault));
  TEMOIN_ASSIGN_OR_RETURN(bool keep_after_receipt, KeepsSealedCopies(vault));
  std::vector<v1::OutboxEntry> entries(leaves.size());
  std::vector<v1::ReceiptBody> bodies(leaves.size());
  for (size_t i = 0; i < leaves.size(); ++i) {
    const auto& [record_id, log_index] = leaves[i];
    TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> bytes, vault.Get(kOutboxNs, record_id));
    if (!bytes.has_value()) return absl::InvalidArgumentError("receipt for an unknown record");
    if (!entries[i].ParseFromString(*bytes)) {
      return absl::DataLossError("outbox entry does not parse");
    }
    v1::ReceiptBody& body = bodies[i];
    if (entries[i].has_envelope()) {
      body.set_digest(crypto::RecordDigest(entries[i].envelope()));
    } else {
      v1::ReceiptBody earlier;  // purged already: the digest its receipt names
      earlier.ParseFromString(entries[i].receipt().body());
      body.set_digest(earlier.digest());
    }
    body.set_format_version(1);
    body.set_record_id(record_id);
    body.set_log_index(log_index);
    body.set_received_at(batch_receipt.received_at());
    body.set_server_key_id(batch_receipt.server_key_id());
  }
  TEMOIN_ASSIGN_OR_RETURN(ReceiptKeyRing ring, ReceiptKeyRing::Load(vault, profile));
  TEMOIN_ASSIGN_OR_RETURN(std::string key,
                          ring.KeyFor(batch_receipt.server_key_id(), batch_receipt.received_at()));
  TEMOIN_ASSIGN_OR_RETURN(std::vector<v1::Receipt> receipts,
                          crypto::VerifyBatchReceipts(bodies, batch_receipt.signature(), key));
  VaultBatch batch;
  for (size_t i = 0; i < leaves.size(); ++i) {
    if (entries[i].state() == v1::RECORD_STATE_PURGED ||
        entries[i].state() == v1::RECORD_STATE_RECEIVED) {
      continue;
    }
    SettleInBatch(batch, leaves[i].first, entries[i], receipts[i], keep_after_receipt);
  }
  return vault.Commit(batch);
}

absl::Status ApplyReceipts(Vault& vault,
                           const std::vector<std::pair<std::string, v1::Receipt>>& receipts) {
  if (receipts.empty()) return absl::OkStatus();
  TEMOIN_ASSIGN_OR_RETURN(v1::Profile profile, LoadProfile(vault));
  TEMOIN_ASSIGN_OR_RETURN(bool keep_after_receipt, KeepsSealedCopies(vault));
  TEMOIN_ASSIGN_OR_RETURN(ReceiptKeyRing ring, ReceiptKeyRing::Load(vault, profile));
  VaultBatch batch;
  for (const auto& [record_id, receipt] : receipts) {
    TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> bytes, vault.Get(kOutboxNs, record_id));
    if (!bytes.has_value()) return absl::InvalidArgumentError("receipt for an unknown record");
    v1::OutboxEntry entry;
    if (!entry.ParseFromString(*bytes)) return absl::DataLossError("outbox entry does not parse");
    if (entry.state() == v1::RECORD_STATE_PURGED || entry.state() == v1::RECORD_STATE_RECEIVED) {
      continue;
    }
    std::string digest = crypto::RecordDigest(entry.envelope());
    // A duplicate is answered with the receipt stored before a rotation: its own key.
    TEMOIN_ASSIGN_OR_RETURN(std::string key, ring.KeyFor(receipt));
    TEMOIN_RETURN_IF_ERROR(crypto::VerifyReceipt(receipt, key, record_id, digest).status());
    SettleInBatch(batch, record_id, entry, receipt, keep_after_receipt);
  }
  return vault.Commit(batch);
}

namespace {

void SettleInBatch(VaultBatch& batch, const std::string& record_id, v1::OutboxEntry& entry,
                   const v1::Receipt& receipt, bool keep_after_receipt) {
  *entry.mutable_receipt() = receipt;
  if (keep_after_receipt) {
    entry.set_state(v1::RECORD_STATE_RECEIVED);
  } else {
    // The receipt covers the attachments too (the server gives it only once they are
    // in and verified), so their slices go with the sealed copy.
    v1::RecordHeader header;
    if (header.ParseFromString(entry.envelope().header())) {
      for (const v1::AttachmentRef& ref : header.attachments()) {
        DeleteSlices(batch, ref.blob_id(), ref.size());
      }
    }
    entry.clear_envelope();
    entry.set_state(v1::RECORD_STATE_PURGED);
  }
  batch.Put(kOutboxNs, record_id, entry.SerializeAsString());
}

}  // namespace

absl::StatusOr<size_t> ApplyCommitmentReceipts(
    Vault& vault, const std::vector<std::pair<std::string, v1::Receipt>>& receipts) {
  if (receipts.empty()) return 0;
  size_t marked = 0;
  TEMOIN_ASSIGN_OR_RETURN(v1::Profile profile, LoadProfile(vault));
  TEMOIN_ASSIGN_OR_RETURN(ReceiptKeyRing ring, ReceiptKeyRing::Load(vault, profile));
  crypto::VerifiedBatchSignatures verified;  // a batch's receipts share one signature
  VaultBatch batch;
  for (const auto& [record_id, receipt] : receipts) {
    TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> bytes, vault.Get(kOutboxNs, record_id));
    if (!bytes.has_value()) return absl::InvalidArgumentError("receipt for an unknown record");
    v1::OutboxEntry entry;
    if (!entry.ParseFromString(*bytes)) return absl::DataLossError("outbox entry does not parse");
    if (entry.state() != v1::RECORD_STATE_SEALED) continue;
    TEMOIN_ASSIGN_OR_RETURN(std::string key, ring.KeyFor(receipt));
    TEMOIN_RETURN_IF_ERROR(crypto::VerifyReceipt(receipt, key, record_id,
                                                 crypto::RecordDigest(entry.envelope()), verified,
                                                 crypto::ReceiptKind::kCommitment)
                               .status());
    *entry.mutable_commitment_receipt() = receipt;
    entry.set_state(v1::RECORD_STATE_COMMITTED);
    batch.Put(kOutboxNs, record_id, entry.SerializeAsString());
    ++marked;
  }
  TEMOIN_RETURN_IF_ERROR(vault.Commit(batch));
  return marked;
}

absl::StatusOr<size_t> ApplyCommitmentBatchReceipt(
    Vault& vault, const v1::BatchReceipt& batch_receipt,
    const std::vector<std::pair<std::string, std::string>>& leaves) {
  if (leaves.empty()) return 0;
  std::vector<v1::ReceiptBody> bodies(leaves.size());
  for (size_t i = 0; i < leaves.size(); ++i) {
    bodies[i].set_format_version(1);
    bodies[i].set_record_id(leaves[i].first);
    bodies[i].set_digest(leaves[i].second);
    bodies[i].set_received_at(batch_receipt.received_at());
    bodies[i].set_server_key_id(batch_receipt.server_key_id());
  }
  TEMOIN_ASSIGN_OR_RETURN(v1::Profile profile, LoadProfile(vault));
  TEMOIN_ASSIGN_OR_RETURN(ReceiptKeyRing ring, ReceiptKeyRing::Load(vault, profile));
  TEMOIN_ASSIGN_OR_RETURN(std::string key,
                          ring.KeyFor(batch_receipt.server_key_id(), batch_receipt.received_at()));
  TEMOIN_ASSIGN_OR_RETURN(std::vector<v1::Receipt> receipts,
                          crypto::VerifyBatchReceipts(bodies, batch_receipt.signature(), key,
                                                      crypto::ReceiptKind::kCommitment));
  std::vector<std::pair<std::string, v1::Receipt>> committed;
  committed.reserve(receipts.size());
  for (size_t i = 0; i < receipts.size(); ++i) {
    committed.emplace_back(leaves[i].first, std::move(receipts[i]));
  }
  return ApplyCommitmentReceipts(vault, committed);
}

absl::StatusOr<bool> KeepsSealedCopies(Vault& vault) {
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> policy, vault.Get(kSettingsNs, "retention"));
  return policy.has_value() && *policy == "keep";
}

absl::Status SetKeepSealedCopies(Vault& vault, bool keep) {
  return vault.Put(kSettingsNs, "retention", keep ? "keep" : "purge");
}

absl::StatusOr<std::map<std::string, uint64_t>> CountByState(Vault& vault) {
  std::map<std::string, uint64_t> counts = {
      {"draft", 0}, {"sealed", 0}, {"committed", 0}, {"received", 0}, {"purged", 0}};
  absl::Status error;
  TEMOIN_RETURN_IF_ERROR(vault.Scan(kOutboxNs, [&](absl::string_view, absl::string_view value) {
    v1::OutboxEntry entry;
    if (!entry.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      error = absl::DataLossError("outbox entry does not parse");
      return false;
    }
    ++counts[StateName(entry.state())];
    return true;
  }));
  TEMOIN_RETURN_IF_ERROR(error);
  // Drafts are counted from their index, so status never opens a draft's text.
  TEMOIN_ASSIGN_OR_RETURN(counts["draft"], CountDrafts(vault));
  return counts;
}

}  // namespace temoin::client
