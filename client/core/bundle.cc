#include "client/core/bundle.h"

#include "absl/strings/match.h"
#include "client/core/attachments.h"
#include "client/core/device_state.h"
#include "client/core/outbox.h"
#include "common/status_macros.h"
#include "crypto/attachment_stream.h"
#include "temoin/v1/client_store.pb.h"
#include "temoin/v1/sync.pb.h"

namespace temoin::client {

namespace {

// Adds one record and its attachment slices to `bundle`. kDataLoss when a slice is
// missing or the header does not parse.
absl::Status AddRecord(Vault& vault, const v1::OutboxEntry& entry, v1::Bundle& bundle,
                       ExportedBundle& out) {
  v1::RecordHeader header;
  if (!header.ParseFromString(entry.envelope().header())) {
    return absl::DataLossError("outbox header does not parse");
  }
  v1::Bundle one;
  for (const v1::AttachmentRef& ref : header.attachments()) {
    v1::BundleBlob* blob = one.add_blobs();
    blob->set_record_id(header.record_id());
    blob->set_blob_id(ref.blob_id());
    for (uint64_t i = 0; i < SliceCount(ref.size()); ++i) {
      TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> slice, LoadSlice(vault, ref.blob_id(), i));
      if (!slice.has_value()) return absl::DataLossError("attachment slice missing from vault");
      blob->add_chunks(std::move(*slice));
    }
  }
  *bundle.add_records() = entry.envelope();
  ++out.records;
  out.attachments += one.blobs_size();
  for (v1::BundleBlob& blob : *one.mutable_blobs()) *bundle.add_blobs() = std::move(blob);
  return absl::OkStatus();
}

absl::StatusOr<ExportedBundle> BuildBundle(Vault& vault, bool skip_damaged) {
  TEMOIN_ASSIGN_OR_RETURN(v1::Profile profile, LoadProfile(vault));
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> server_key,
                          vault.Get(kSettingsNs, "bundle_key"));
  if (!server_key.has_value() || server_key->size() != 32) {
    return absl::FailedPreconditionError(
        "this device does not know the server's bundle key yet; sync once first");
  }
  TEMOIN_ASSIGN_OR_RETURN(std::vector<v1::OutboxEntry> pending, PendingRecords(vault));
  if (pending.empty())
    return absl::FailedPreconditionError("nothing to export: the outbox is empty");
  ExportedBundle out;
  v1::Bundle bundle;
  bundle.set_device_id(profile.device_id());
  for (const v1::OutboxEntry& entry : pending) {
    absl::Status added = AddRecord(vault, entry, bundle, out);
    if (added.ok()) continue;
    if (!skip_damaged || added.code() != absl::StatusCode::kDataLoss) return added;
    ++out.skipped;
  }
  if (out.records == 0) {
    return absl::DataLossError("no intact sealed record is left to export");
  }
  crypto::SecretBuffer key = crypto::SecretBuffer::Random(32);
  v1::SealedBundle sealed;
  sealed.set_bundle_id(crypto::RandomBytes(16));
  TEMOIN_ASSIGN_OR_RETURN(*sealed.mutable_sealed_key(),
                          crypto::SealToPublicKey(key.ExposeSecret(), *server_key));
  TEMOIN_ASSIGN_OR_RETURN(
      *sealed.mutable_stream(),
      crypto::EncryptAttachment(key, sealed.bundle_id(), bundle.SerializeAsString()));
  out.file = std::string(kBundleMagic) + sealed.SerializeAsString();
  return out;
}

}  // namespace

absl::StatusOr<ExportedBundle> ExportBundle(Vault& vault) { return BuildBundle(vault, false); }

absl::StatusOr<ExportedBundle> RecoverBundle(Vault& vault) { return BuildBundle(vault, true); }

absl::Status StoreRelayBundle(Vault& vault, const std::string& file) {
  v1::SealedBundle sealed;
  if (!absl::StartsWith(file, kBundleMagic) ||
      !sealed.ParseFromArray(file.data() + 8, static_cast<int>(file.size() - 8)) ||
      sealed.bundle_id().size() != 16) {
    return absl::InvalidArgumentError("not a temoin bundle");
  }
  v1::RelayBundle relay;
  relay.set_data(file);
  // Named by content: the same file imported twice is kept once.
  return vault.Put(kRelayNs, crypto::Hash256("temoin/relay-bundle/v1", file),
                   relay.SerializeAsString());
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> RelayBundles(Vault& vault) {
  std::vector<std::pair<std::string, std::string>> out;
  TEMOIN_RETURN_IF_ERROR(vault.Scan(kRelayNs, [&](absl::string_view name, absl::string_view value) {
    v1::RelayBundle relay;
    if (relay.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      out.emplace_back(std::string(name), relay.data());
    }
    return true;
  }));
  return out;
}

absl::Status ForgetRelayBundle(Vault& vault, const std::string& name) {
  VaultBatch batch;
  batch.Delete(kRelayNs, name);
  return vault.Commit(batch);
}

}  // namespace temoin::client
