#include "client/core/evidence_package.h"

#include <sodium.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "crypto/envelope.h"
#include "crypto/log_leaf.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"
#include "temoin/v1/testimony.pb.h"

namespace temoin::client {
namespace {

namespace files = evidence_files;

std::string Sha256Hex(absl::string_view bytes) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return ToHex(absl::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

// Collects the files in writing order so the manifest can list each with its hash.
class PackageWriter {
 public:
  explicit PackageWriter(std::string dir) : dir_(std::move(dir)) {}

  absl::Status Add(const std::string& name, absl::string_view contents) {
    TEMOIN_RETURN_IF_ERROR(WriteFileDurably(absl::StrCat(dir_, "/", name), contents, 0600));
    nlohmann::ordered_json entry;
    entry["name"] = name;
    entry["sha256"] = Sha256Hex(contents);
    entry["bytes"] = contents.size();
    listed_.push_back(std::move(entry));
    return absl::OkStatus();
  }

  absl::Status Finish(const std::string& record_id, bool disclosed) {
    nlohmann::ordered_json manifest;
    manifest["format"] = kEvidenceFormat;
    manifest["record_id"] = ToHex(record_id);
    manifest["disclosed"] = disclosed;
    manifest["files"] = listed_;
    return WriteFileDurably(absl::StrCat(dir_, "/", files::kManifest), manifest.dump(2) + "\n",
                            0600);
  }

 private:
  std::string dir_;
  std::vector<nlohmann::ordered_json> listed_;
};

absl::Status PrepareDirectory(const std::string& dir) {
  std::error_code error;
  if (std::filesystem::exists(dir, error) && !std::filesystem::is_empty(dir, error)) {
    return absl::FailedPreconditionError("--out must be a new or empty directory");
  }
  TEMOIN_RETURN_IF_ERROR(MakeDirectories(dir, 0700));
  return MakeDirectories(absl::StrCat(dir, "/", files::kAttachmentsDir), 0700);
}

absl::StatusOr<std::string> TestimonyJson(absl::string_view serialized) {
  v1::Testimony testimony;
  if (!testimony.ParseFromString(std::string(serialized))) {
    return absl::DataLossError("record body does not decode");
  }
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  std::string json;
  if (!google::protobuf::util::MessageToJsonString(testimony, &json, options).ok()) {
    return absl::InternalError("testimony does not print as JSON");
  }
  testimony.Clear();
  return json;
}

absl::Status WriteDisclosure(PackageWriter& writer, const EvidenceInput& input,
                             const v1::RecordHeader& header) {
  if (input.data_key.size() != 32) return absl::InvalidArgumentError("data key has wrong length");
  TEMOIN_RETURN_IF_ERROR(writer.Add(files::kTestimonyPb, input.testimony));
  TEMOIN_ASSIGN_OR_RETURN(std::string json, TestimonyJson(input.testimony));
  absl::Status written = writer.Add(files::kTestimonyJson, json);
  sodium_memzero(json.data(), json.size());
  TEMOIN_RETURN_IF_ERROR(written);
  TEMOIN_RETURN_IF_ERROR(writer.Add(files::kDataKey, ToHex(input.data_key) + "\n"));
  absl::string_view dictionary = crypto::BodyDictionary(header.body_dictionary());
  if (!dictionary.empty()) TEMOIN_RETURN_IF_ERROR(writer.Add(files::kDictionary, dictionary));
  for (const EvidenceInput::Attachment& attachment : input.attachments) {
    TEMOIN_RETURN_IF_ERROR(
        writer.Add(absl::StrCat(files::kAttachmentsDir, "/", ToHex(attachment.blob_id), ".key.hex"),
                   ToHex(attachment.key) + "\n"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteEvidencePackage(const std::string& dir, const EvidenceInput& input) {
  v1::RecordHeader header;
  v1::ReceiptBody receipt_body;
  if (!header.ParseFromString(input.envelope.header()) ||
      !receipt_body.ParseFromString(input.receipt.body()) || input.checkpoint_note.empty() ||
      input.log_vkey.empty()) {
    return absl::InvalidArgumentError("evidence input is incomplete");
  }
  TEMOIN_RETURN_IF_ERROR(PrepareDirectory(dir));
  PackageWriter writer(dir);
  TEMOIN_RETURN_IF_ERROR(writer.Add(files::kEnvelope, input.envelope.SerializeAsString()));
  TEMOIN_RETURN_IF_ERROR(
      writer.Add(files::kDeviceCertificate, input.certificate.SerializeAsString()));
  TEMOIN_RETURN_IF_ERROR(writer.Add(files::kOrgKey, ToHex(input.org_public_key) + "\n"));
  TEMOIN_RETURN_IF_ERROR(writer.Add(files::kReceiptKey, ToHex(input.receipt_public_key) + "\n"));
  TEMOIN_RETURN_IF_ERROR(writer.Add(files::kReceipt, input.receipt.SerializeAsString()));
  TEMOIN_RETURN_IF_ERROR(writer.Add(files::kLogKey, input.log_vkey + "\n"));
  TEMOIN_RETURN_IF_ERROR(
      writer.Add(files::kLogKeySignature, ToHex(input.log_vkey_signature) + "\n"));
  TEMOIN_RETURN_IF_ERROR(writer.Add(files::kCheckpoint, input.checkpoint_note));
  // The leaf as the server logged it, rebuilt from the receipt and the signed header.
  const std::string leaf = crypto::EncodeLogLeaf({.log_index = receipt_body.log_index(),
                                                  .record_id = header.record_id(),
                                                  .digest = receipt_body.digest(),
                                                  .device_id = header.device_id(),
                                                  .device_seq = header.device_seq(),
                                                  .received_hour = receipt_body.received_at()});
  TEMOIN_RETURN_IF_ERROR(writer.Add(files::kLogLeaf, leaf));
  std::string proof;
  for (const std::string& hash : input.inclusion_proof) absl::StrAppend(&proof, ToHex(hash), "\n");
  TEMOIN_RETURN_IF_ERROR(writer.Add(files::kInclusionProof, proof));
  if (!input.server_keys_body.empty()) {
    TEMOIN_RETURN_IF_ERROR(writer.Add(files::kServerKeys, input.server_keys_body));
    TEMOIN_RETURN_IF_ERROR(
        writer.Add(files::kServerKeysSignature, ToHex(input.server_keys_signature) + "\n"));
  }
  for (const EvidenceInput::Attachment& attachment : input.attachments) {
    TEMOIN_RETURN_IF_ERROR(
        writer.Add(absl::StrCat(files::kAttachmentsDir, "/", ToHex(attachment.blob_id), ".enc"),
                   attachment.ciphertext));
  }
  if (input.disclose) TEMOIN_RETURN_IF_ERROR(WriteDisclosure(writer, input, header));
  return writer.Finish(header.record_id(), input.disclose);
}

}  // namespace temoin::client
