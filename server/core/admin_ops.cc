#include "server/core/admin_ops.h"

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/role_name.h"
#include "common/status_macros.h"
#include "crypto/envelope.h"
#include "crypto/project_keys.h"

namespace temoin::server {
namespace {}  // namespace

absl::Status RequireRole(const Session& session, v1::Role role) {
  if (session.role() != role) {
    return absl::PermissionDeniedError(absl::StrCat(
        "this needs the ", RoleName(role), " role; this device is a ", RoleName(session.role())));
  }
  return absl::OkStatus();
}

AdminOps::AdminOps(Registry* registry, Enrollment* enrollment, AuditLog* audit)
    : registry_(registry), enrollment_(enrollment), audit_(audit) {}

absl::StatusOr<v1::CreateProjectResponse> AdminOps::CreateProject(
    const Session& session, const v1::CreateProjectRequest& req) {
  TEMOIN_RETURN_IF_ERROR(RequireRole(session, v1::ROLE_ADMIN));
  TEMOIN_ASSIGN_OR_RETURN(v1::ServerConfig config, registry_->Config());
  TEMOIN_ASSIGN_OR_RETURN(v1::ProjectKeyBody body,
                          crypto::VerifyProjectKey(req.key(), config.org_public_key()));
  TEMOIN_RETURN_IF_ERROR(ValidateProjectName(body.project_name()));
  if (body.project_id().size() != crypto::kProjectIdBytes || body.epoch() != 1 ||
      body.public_key().size() != crypto::kBoxPublicKeyBytes) {
    return absl::InvalidArgumentError("project key must be epoch 1 with a 16-byte id");
  }
  if (req.admin_wrapped_secret().size() != kWrappedEpochSecretBytes) {
    return absl::InvalidArgumentError("admin wrapped secret has wrong length");
  }
  v1::StoredProject project;
  project.set_project_id(body.project_id());
  project.set_name(body.project_name());
  *project.add_keys() = req.key();
  project.set_admin_wrapped_secret(req.admin_wrapped_secret());
  project.set_admin_epoch(1);
  // The name checks and the create are one step under the audit chain's store lock, on
  // every front-end.
  TEMOIN_RETURN_IF_ERROR(audit_->CommitChecked([&](WriteBatch& batch,
                                                   std::vector<AuditEvent>& events)
                                                   -> absl::Status {
    TEMOIN_ASSIGN_OR_RETURN(auto existing, registry_->Project(body.project_name()));
    if (existing.has_value()) return absl::AlreadyExistsError("project already exists");
    TEMOIN_ASSIGN_OR_RETURN(auto same_id, registry_->ProjectById(body.project_id()));
    if (same_id.has_value()) return absl::AlreadyExistsError("project id already in use");
    batch.Put(keys::Project(project.name()), project.SerializeAsString());
    batch.Put(keys::ProjectId(project.project_id()), project.name());
    events.push_back({session.device_id(), "project.create", project.project_id(), project.name()});
    return absl::OkStatus();
  }));
  v1::CreateProjectResponse response;
  response.set_project_id(project.project_id());
  return response;
}

absl::StatusOr<v1::CreateInviteResponse> AdminOps::CreateInvite(
    const Session& session, const v1::CreateInviteRequest& req) {
  TEMOIN_RETURN_IF_ERROR(RequireRole(session, v1::ROLE_ADMIN));
  return enrollment_->CreateInvite(req.role(), req.project(), req.ttl_seconds(),
                                   /*bootstrap=*/false, session.device_id());
}

absl::StatusOr<v1::ListDevicesResponse> AdminOps::ListDevices(const Session& session) {
  TEMOIN_RETURN_IF_ERROR(RequireRole(session, v1::ROLE_ADMIN));
  TEMOIN_ASSIGN_OR_RETURN(std::vector<v1::StoredDevice> devices, registry_->Devices());
  v1::ListDevicesResponse response;
  for (const v1::StoredDevice& device : devices) {
    v1::DeviceInfo* info = response.add_devices();
    info->set_device_id(device.device_id());
    info->set_role(device.role());
    info->set_project(device.project());
    info->set_state(device.revoked() ? "revoked" : "active");
    info->set_signing_public_key(device.signing_public_key());
    info->set_box_public_key(device.box_public_key());
    info->set_enrolled_at(device.enrolled_at());
    TEMOIN_ASSIGN_OR_RETURN(int64_t duress_since, registry_->DuressSince(device.device_id()));
    info->set_duress_since(duress_since);
    if (device.has_certificate()) *info->mutable_certificate() = device.certificate();
  }
  return response;
}

absl::StatusOr<v1::PutGrantResponse> AdminOps::PutGrant(const Session& session,
                                                        const v1::PutGrantRequest& req) {
  TEMOIN_RETURN_IF_ERROR(RequireRole(session, v1::ROLE_ADMIN));
  TEMOIN_RETURN_IF_ERROR(ValidateProjectName(req.project()));
  TEMOIN_ASSIGN_OR_RETURN(auto project, registry_->Project(req.project()));
  if (!project.has_value()) return absl::NotFoundError("project does not exist");
  if (req.reviewer_device_id().size() != crypto::kDeviceIdBytes) {
    return absl::InvalidArgumentError("reviewer device id has wrong length");
  }
  TEMOIN_ASSIGN_OR_RETURN(auto reviewer, registry_->Device(req.reviewer_device_id()));
  if (!reviewer.has_value()) return absl::NotFoundError("reviewer device does not exist");
  if (reviewer->role() != v1::ROLE_REVIEWER || reviewer->revoked()) {
    return absl::FailedPreconditionError("device is not an active reviewer");
  }
  if (req.secrets().empty() || req.secrets_size() > project->keys_size()) {
    return absl::InvalidArgumentError("grant must carry one secret per project epoch");
  }
  v1::StoredGrant grant;
  grant.set_reviewer_device_id(req.reviewer_device_id());
  for (const v1::EpochSecret& secret : req.secrets()) {
    if (secret.epoch() < 1 || secret.epoch() > static_cast<uint32_t>(project->keys_size())) {
      return absl::InvalidArgumentError("grant names an unknown epoch");
    }
    if (secret.sealed().size() != kWrappedEpochSecretBytes) {
      return absl::InvalidArgumentError("grant secret has wrong length");
    }
    v1::StoredEpochSecret* stored = grant.add_secrets();
    stored->set_epoch(secret.epoch());
    stored->set_sealed(secret.sealed());
  }
  std::lock_guard lock(mu_);  // against a concurrent rotation of the same project
  WriteBatch batch;
  batch.Put(keys::Grant(req.reviewer_device_id(), req.project()), grant.SerializeAsString());
  TEMOIN_RETURN_IF_ERROR(audit_->CommitWith(
      std::move(batch),
      {{session.device_id(), "grant.put", req.reviewer_device_id(), req.project()}}));
  return v1::PutGrantResponse();
}

absl::StatusOr<v1::GetProjectSecretsResponse> AdminOps::GetProjectSecrets(
    const Session& session, const v1::GetProjectSecretsRequest& req) {
  TEMOIN_RETURN_IF_ERROR(RequireRole(session, v1::ROLE_ADMIN));
  TEMOIN_RETURN_IF_ERROR(ValidateProjectName(req.project()));
  TEMOIN_ASSIGN_OR_RETURN(auto project, registry_->Project(req.project()));
  if (!project.has_value()) return absl::NotFoundError("project does not exist");
  v1::GetProjectSecretsResponse response;
  v1::EpochSecret* secret = response.add_secrets();
  secret->set_epoch(project->admin_epoch());
  secret->set_sealed(project->admin_wrapped_secret());
  // Later epochs (rotations) are kept under their own keys.
  std::string prefix = keys::AdminSecretPrefix(req.project());
  TEMOIN_RETURN_IF_ERROR(
      registry_->store().Scan(prefix, "", [&](absl::string_view key, absl::string_view value) {
        absl::string_view epoch = key.substr(prefix.size());
        if (epoch.size() != 4) return true;
        v1::EpochSecret* later = response.add_secrets();
        later->set_epoch(
            static_cast<uint32_t>(DecodeU64BigEndian(absl::StrCat(std::string(4, '\0'), epoch))));
        later->set_sealed(std::string(value));
        return true;
      }));
  return response;
}

}  // namespace temoin::server
