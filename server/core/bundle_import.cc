#include "server/core/bundle_import.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "crypto/attachment_stream.h"

namespace temoin::server {

absl::StatusOr<BundleImportReport> ImportBundle(Core& core, absl::string_view file,
                                                const Session* carrier) {
  if (!core.bundle_key().has_value()) {
    return absl::FailedPreconditionError("this server has no bundle key");
  }
  // The carrier pays for what it carried, before anything is opened: anyone holding
  // the server's bundle key can make a bundle that names any device, so the named
  // device pays only for its records that verify (UploadBatch, relayed).
  if (carrier != nullptr) {
    TEMOIN_RETURN_IF_ERROR(
        core.ingest().rate_limiter().AdmitBytes(carrier->device_id(), file.size()));
  }
  v1::SealedBundle sealed;
  if (file.size() > kMaxBundleBytes || !absl::StartsWith(file, kBundleMagic) ||
      !sealed.ParseFromArray(file.data() + 8, static_cast<int>(file.size() - 8))) {
    return absl::InvalidArgumentError("not a temoin bundle");
  }
  absl::StatusOr<crypto::SecretBuffer> key =
      crypto::OpenSealed(sealed.sealed_key(), *core.bundle_key());
  if (!key.ok()) return absl::UnauthenticatedError("bundle does not open with this server's key");
  absl::StatusOr<std::string> plain =
      crypto::DecryptAttachment(*key, sealed.bundle_id(), sealed.stream());
  if (!plain.ok()) return absl::UnauthenticatedError("bundle does not open with this server's key");
  v1::Bundle bundle;
  if (!bundle.ParseFromString(*plain)) return absl::InvalidArgumentError("not a temoin bundle");

  // The records speak for the device that signed them, whoever carried the file.
  TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::StoredDevice> device,
                          core.registry().Device(bundle.device_id()));
  if (!device.has_value()) {
    return absl::PermissionDeniedError("bundle comes from a device this server does not know");
  }
  if (device->revoked()) return absl::PermissionDeniedError("device has been revoked");
  Session session{*device};
  BundleImportReport report;
  const int kBatch = static_cast<int>(core.ingest().limits().max_records_per_batch);
  for (int start = 0; start < bundle.records_size(); start += kBatch) {
    google::protobuf::RepeatedPtrField<v1::Envelope> batch;
    for (int i = start; i < bundle.records_size() && i < start + kBatch; ++i) {
      *batch.Add() = bundle.records(i);
    }
    // A record already in before this import answers with its earlier receipt.
    std::vector<bool> known(batch.size());
    for (int i = 0; i < batch.size(); ++i) {
      v1::RecordHeader header;
      if (header.ParseFromString(batch[i].header())) {
        TEMOIN_ASSIGN_OR_RETURN(auto stored,
                                core.registry().Record(device->device_id(), header.record_id()));
        known[i] = stored.has_value();
      }
    }
    TEMOIN_ASSIGN_OR_RETURN(std::vector<v1::RecordResult> results,
                            core.ingest().UploadBatch(session, batch, nullptr,
                                                      /*relayed=*/true));
    for (size_t i = 0; i < results.size(); ++i) {
      if (results[i].code() != 0) {
        ++report.refused;
        report.refusals.push_back(
            absl::StrCat("record ", ToHex(results[i].record_id()), ": ", results[i].message()));
      } else if (known[i]) {
        ++report.duplicates;
      } else {
        ++report.records;
      }
    }
  }
  for (const v1::BundleBlob& blob : bundle.blobs()) {
    for (int i = 0; i < blob.chunks_size(); ++i) {
      v1::AttachmentChunk chunk;
      chunk.set_record_id(blob.record_id());
      chunk.set_blob_id(blob.blob_id());
      chunk.set_index(i);
      chunk.set_data(blob.chunks(i));
      absl::StatusOr<v1::BlobStatus> status = core.attachments().UploadChunk(session, chunk);
      if (!status.ok()) {
        ++report.refused;
        report.refusals.push_back(absl::StrCat("attachment of record ", ToHex(blob.record_id()),
                                               ": ", status.status().message()));
        break;
      }
    }
  }
  return report;
}

}  // namespace temoin::server
