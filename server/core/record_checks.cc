#include "server/core/record_checks.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "crypto/keys.h"

namespace temoin::server {

void SetError(v1::RecordResult& result, const absl::Status& status) {
  result.set_code(static_cast<int32_t>(status.code()));
  result.set_message(std::string(status.message()));
}

absl::Status CheckHeader(const v1::RecordHeader& header, const v1::StoredDevice& device,
                         const v1::StoredProject& project, const IngestLimits& limits) {
  if (header.device_id() != device.device_id()) {
    return absl::PermissionDeniedError("record was made by another device");
  }
  if (header.project_id() != device.project_id()) {
    return absl::PermissionDeniedError("record belongs to another project");
  }
  for (const v1::RecipientRef& recipient : header.recipients()) {
    bool known = false;
    for (const v1::SignedProjectKey& key : project.keys()) {
      v1::ProjectKeyBody body;
      if (body.ParseFromString(key.body()) && body.epoch() == recipient.epoch() &&
          crypto::KeyId(body.public_key()) == recipient.key_id()) {
        known = true;
      }
    }
    if (!known) {
      return absl::PermissionDeniedError("record is sealed to a key this project does not have");
    }
  }
  for (const v1::AttachmentRef& ref : header.attachments()) {
    if (ref.size() > limits.max_attachment_bytes) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "attachment size is over this server's limit (", limits.max_attachment_bytes, " bytes)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace temoin::server
