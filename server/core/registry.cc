#include "server/core/registry.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "crypto/envelope.h"
#include "crypto/keys.h"

namespace temoin::server {
namespace keys {

std::string Config() { return "cfg"; }
std::string Device(absl::string_view device_id) { return absl::StrCat("dev/", device_id); }
std::string Invite(absl::string_view token) {
  // Only a hash of the token is kept, so a copy of the store cannot enrol devices.
  return absl::StrCat("inv/", crypto::Hash256("temoin/invite-token/v1", token));
}
std::string Project(absl::string_view name) { return absl::StrCat("prj/", name); }
std::string ProjectId(absl::string_view project_id) { return absl::StrCat("pid/", project_id); }
std::string GrantPrefix(absl::string_view reviewer_id) { return absl::StrCat("grt/", reviewer_id); }
std::string Grant(absl::string_view reviewer_id, absl::string_view project) {
  return absl::StrCat("grt/", reviewer_id, project);
}
std::string Record(absl::string_view device_id, absl::string_view record_id) {
  return absl::StrCat("rec/", device_id, record_id);
}
std::string RecordIdIndexPrefix(absl::string_view record_id) {
  return absl::StrCat("rid/", record_id);
}
std::string RecordIdIndex(absl::string_view record_id, absl::string_view device_id) {
  return absl::StrCat("rid/", record_id, device_id);
}
std::string Log(uint64_t index) { return absl::StrCat("log/", EncodeU64BigEndian(index)); }
std::string ProjectLogPrefix(absl::string_view project_id) {
  return absl::StrCat("plg/", project_id);
}
std::string ProjectLog(absl::string_view project_id, uint64_t index) {
  return absl::StrCat("plg/", project_id, EncodeU64BigEndian(index));
}
std::string Conflict(absl::string_view device_id, absl::string_view record_id,
                     absl::string_view digest) {
  return absl::StrCat("cfl/", device_id, record_id, digest);
}

std::string WipeOrder(absl::string_view device_id) { return absl::StrCat("wip/", device_id); }
std::string NextNonce(absl::string_view device_id) { return absl::StrCat("nxn/", device_id); }
std::string Duress(absl::string_view device_id) { return absl::StrCat("drs/", device_id); }
std::string NextTlsKey() { return "tln"; }
std::string ServerKeyStatement() { return "sks"; }
std::string AdminSecretPrefix(absl::string_view project) {
  return absl::StrCat("asc/", project, "/");  // '/' cannot occur in a project name
}
std::string AdminSecret(absl::string_view project, uint32_t epoch) {
  return absl::StrCat(AdminSecretPrefix(project), EncodeU64BigEndian(epoch).substr(4));
}

}  // namespace keys

std::string EncodeRecordRef(absl::string_view device_id, absl::string_view record_id) {
  return absl::StrCat(device_id, record_id);
}

absl::StatusOr<RecordRef> DecodeRecordRef(absl::string_view value) {
  if (value.size() != crypto::kDeviceIdBytes + crypto::kRecordIdBytes) {
    return absl::DataLossError(
        "log entry is not a device and record id (a store from before per-device record "
        "keys?)");
  }
  return RecordRef{std::string(value.substr(0, crypto::kDeviceIdBytes)),
                   std::string(value.substr(crypto::kDeviceIdBytes))};
}

template <typename Message>
absl::StatusOr<std::optional<Message>> Registry::GetMessage(const std::string& key) {
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> value, store_->Get(key));
  if (!value.has_value()) return std::nullopt;
  Message message;
  if (!message.ParseFromString(*value)) {
    return absl::DataLossError(
        absl::StrCat("stored value does not parse: ", Message::descriptor()->name()));
  }
  return message;
}

absl::StatusOr<v1::ServerConfig> Registry::Config() {
  TEMOIN_ASSIGN_OR_RETURN(auto config, GetMessage<v1::ServerConfig>(keys::Config()));
  if (!config.has_value()) return absl::FailedPreconditionError("server is not initialised");
  return *config;
}

absl::StatusOr<std::optional<v1::StoredDevice>> Registry::Device(absl::string_view device_id) {
  return GetMessage<v1::StoredDevice>(keys::Device(device_id));
}

absl::StatusOr<std::optional<v1::StoredInvite>> Registry::Invite(absl::string_view token) {
  return GetMessage<v1::StoredInvite>(keys::Invite(token));
}

absl::StatusOr<std::optional<v1::StoredProject>> Registry::Project(absl::string_view name) {
  return GetMessage<v1::StoredProject>(keys::Project(name));
}

absl::StatusOr<std::optional<v1::StoredProject>> Registry::ProjectById(
    absl::string_view project_id) {
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> name,
                          store_->Get(keys::ProjectId(project_id)));
  if (!name.has_value()) return std::nullopt;
  return Project(*name);
}

absl::StatusOr<std::optional<v1::StoredGrant>> Registry::Grant(absl::string_view reviewer_id,
                                                               absl::string_view project) {
  return GetMessage<v1::StoredGrant>(keys::Grant(reviewer_id, project));
}

absl::StatusOr<std::vector<std::string>> Registry::GrantedProjects(absl::string_view reviewer_id) {
  std::vector<std::string> names;
  std::string prefix = keys::GrantPrefix(reviewer_id);
  TEMOIN_RETURN_IF_ERROR(store_->Scan(prefix, "", [&](absl::string_view key, absl::string_view) {
    names.emplace_back(key.substr(prefix.size()));
    return true;
  }));
  return names;
}

absl::StatusOr<std::optional<v1::StoredRecord>> Registry::Record(absl::string_view device_id,
                                                                 absl::string_view record_id) {
  return GetMessage<v1::StoredRecord>(keys::Record(device_id, record_id));
}

absl::StatusOr<std::vector<v1::StoredRecord>> Registry::RecordsWithId(absl::string_view record_id) {
  if (record_id.size() != crypto::kRecordIdBytes) return std::vector<v1::StoredRecord>();
  const std::string prefix = keys::RecordIdIndexPrefix(record_id);
  std::vector<std::string> device_ids;
  TEMOIN_RETURN_IF_ERROR(store_->Scan(prefix, "", [&](absl::string_view key, absl::string_view) {
    device_ids.emplace_back(key.substr(prefix.size()));
    return true;
  }));
  std::vector<v1::StoredRecord> records;
  for (const std::string& device_id : device_ids) {
    TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::StoredRecord> stored, Record(device_id, record_id));
    if (!stored.has_value()) return absl::DataLossError("record index names a missing record");
    records.push_back(std::move(*stored));
  }
  return records;
}

absl::StatusOr<std::vector<v1::StoredDevice>> Registry::Devices() {
  std::vector<v1::StoredDevice> devices;
  absl::Status parse_error;
  TEMOIN_RETURN_IF_ERROR(store_->Scan("dev/", "", [&](absl::string_view, absl::string_view value) {
    v1::StoredDevice device;
    if (!device.ParseFromArray(value.data(), static_cast<int>(value.size()))) {
      parse_error = absl::DataLossError("stored device does not parse");
      return false;
    }
    devices.push_back(std::move(device));
    return true;
  }));
  TEMOIN_RETURN_IF_ERROR(parse_error);
  return devices;
}

absl::StatusOr<std::vector<std::string>> Registry::GranteesOf(absl::string_view project) {
  std::vector<std::string> ids;
  constexpr size_t kPrefix = 4;  // "grt/"
  TEMOIN_RETURN_IF_ERROR(store_->Scan("grt/", "", [&](absl::string_view key, absl::string_view) {
    if (key.size() > kPrefix + crypto::kDeviceIdBytes &&
        key.substr(kPrefix + crypto::kDeviceIdBytes) == project) {
      ids.emplace_back(key.substr(kPrefix, crypto::kDeviceIdBytes));
    }
    return true;
  }));
  return ids;
}

absl::StatusOr<int64_t> Registry::DuressSince(absl::string_view device_id) {
  TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> value, store_->Get(keys::Duress(device_id)));
  if (!value.has_value()) return 0;
  int64_t since = 0;
  if (!absl::SimpleAtoi(*value, &since) || since <= 0) {
    return absl::DataLossError("stored value does not parse: duress mark");
  }
  return since;
}

absl::StatusOr<std::optional<std::string>> Registry::WipeOrder(absl::string_view device_id) {
  return store_->Get(keys::WipeOrder(device_id));
}

absl::StatusOr<std::optional<v1::ServerKeyStatement>> Registry::ServerKeyStatement() {
  return GetMessage<v1::ServerKeyStatement>(keys::ServerKeyStatement());
}

absl::StatusOr<std::optional<v1::TlsKeyAnnouncement>> Registry::NextTlsKey() {
  return GetMessage<v1::TlsKeyAnnouncement>(keys::NextTlsKey());
}

absl::Status ValidateProjectName(absl::string_view name) {
  if (name.empty() || name.size() > 64) {
    return absl::InvalidArgumentError("project name must be 1 to 64 characters");
  }
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && (c == '-' || c == '_'));
    if (!ok) {
      return absl::InvalidArgumentError(
          "project name may hold only lowercase letters, digits, '-' and '_', and must start "
          "with a letter or digit");
    }
  }
  return absl::OkStatus();
}

}  // namespace temoin::server
