// AdminOps, second half: key epochs, grants listing and removal, revocation, audit.
#include <set>

#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "crypto/envelope.h"
#include "crypto/project_keys.h"
#include "server/core/admin_ops.h"

namespace temoin::server {
namespace {

// Checks one re-wrapped grant against the project after rotation to `epochs` epochs.
absl::StatusOr<v1::StoredGrant> CheckGrant(const v1::PutGrantRequest& grant, uint32_t epochs) {
  if (grant.reviewer_device_id().size() != crypto::kDeviceIdBytes) {
    return absl::InvalidArgumentError("reviewer device id has wrong length");
  }
  if (grant.secrets().empty() || static_cast<uint32_t>(grant.secrets_size()) > epochs) {
    return absl::InvalidArgumentError("grant must carry one secret per project epoch");
  }
  v1::StoredGrant stored;
  stored.set_reviewer_device_id(grant.reviewer_device_id());
  for (const v1::EpochSecret& secret : grant.secrets()) {
    if (secret.epoch() < 1 || secret.epoch() > epochs) {
      return absl::InvalidArgumentError("grant names an unknown epoch");
    }
    if (secret.sealed().size() != kWrappedEpochSecretBytes) {
      return absl::InvalidArgumentError("grant secret has wrong length");
    }
    v1::StoredEpochSecret* out = stored.add_secrets();
    out->set_epoch(secret.epoch());
    out->set_sealed(secret.sealed());
  }
  return stored;
}

}  // namespace

absl::StatusOr<v1::RotateProjectKeyResponse> AdminOps::RotateProjectKey(
    const Session& session, const v1::RotateProjectKeyRequest& req) {
  TEMOIN_RETURN_IF_ERROR(RequireRole(session, v1::ROLE_ADMIN));
  TEMOIN_ASSIGN_OR_RETURN(v1::ServerConfig config, registry_->Config());
  TEMOIN_ASSIGN_OR_RETURN(v1::ProjectKeyBody body,
                          crypto::VerifyProjectKey(req.key(), config.org_public_key()));
  TEMOIN_RETURN_IF_ERROR(ValidateProjectName(body.project_name()));
  if (req.admin_wrapped_secret().size() != kWrappedEpochSecretBytes) {
    return absl::InvalidArgumentError("admin wrapped secret has wrong length");
  }
  std::lock_guard lock(mu_);  // one rotation or grant change of a project at a time
  TEMOIN_ASSIGN_OR_RETURN(auto project, registry_->Project(body.project_name()));
  if (!project.has_value()) return absl::NotFoundError("project does not exist");
  uint32_t epoch = static_cast<uint32_t>(project->keys_size()) + 1;
  if (body.project_id() != project->project_id() || body.epoch() != epoch ||
      body.public_key().size() != crypto::kBoxPublicKeyBytes) {
    return absl::InvalidArgumentError("new key must be the next epoch of the same project");
  }
  TEMOIN_ASSIGN_OR_RETURN(std::vector<std::string> grantees,
                          registry_->GranteesOf(project->name()));
  std::set<std::string> expected(grantees.begin(), grantees.end());
  std::set<std::string> given;
  WriteBatch batch;
  for (const v1::PutGrantRequest& grant : req.grants()) {
    TEMOIN_ASSIGN_OR_RETURN(v1::StoredGrant stored, CheckGrant(grant, epoch));
    given.insert(grant.reviewer_device_id());
    batch.Put(keys::Grant(grant.reviewer_device_id(), project->name()), stored.SerializeAsString());
  }
  if (given != expected || static_cast<size_t>(req.grants_size()) != given.size()) {
    return absl::FailedPreconditionError("grants changed during rotation; run rotate-key again");
  }
  *project->add_keys() = req.key();
  batch.Put(keys::Project(project->name()), project->SerializeAsString());
  batch.Put(keys::AdminSecret(project->name(), epoch), req.admin_wrapped_secret());
  TEMOIN_RETURN_IF_ERROR(audit_->CommitWith(
      std::move(batch),
      {{session.device_id(), "project.rotate", project->project_id(), project->name()}}));
  v1::RotateProjectKeyResponse response;
  response.set_epoch(epoch);
  return response;
}

absl::StatusOr<v1::ListGrantsResponse> AdminOps::ListGrants(const Session& session,
                                                            const v1::ListGrantsRequest& req) {
  TEMOIN_RETURN_IF_ERROR(RequireRole(session, v1::ROLE_ADMIN));
  TEMOIN_RETURN_IF_ERROR(ValidateProjectName(req.project()));
  TEMOIN_ASSIGN_OR_RETURN(auto project, registry_->Project(req.project()));
  if (!project.has_value()) return absl::NotFoundError("project does not exist");
  TEMOIN_ASSIGN_OR_RETURN(std::vector<std::string> grantees, registry_->GranteesOf(req.project()));
  v1::ListGrantsResponse response;
  for (const std::string& id : grantees) {
    TEMOIN_ASSIGN_OR_RETURN(auto device, registry_->Device(id));
    if (!device.has_value()) continue;
    v1::GrantInfo* info = response.add_grants();
    info->set_reviewer_device_id(id);
    info->set_signing_public_key(device->signing_public_key());
    info->set_box_public_key(device->box_public_key());
  }
  return response;
}

absl::StatusOr<v1::RemoveGrantResponse> AdminOps::RemoveGrant(const Session& session,
                                                              const v1::RemoveGrantRequest& req) {
  TEMOIN_RETURN_IF_ERROR(RequireRole(session, v1::ROLE_ADMIN));
  TEMOIN_RETURN_IF_ERROR(ValidateProjectName(req.project()));
  if (req.reviewer_device_id().size() != crypto::kDeviceIdBytes) {
    return absl::InvalidArgumentError("reviewer device id has wrong length");
  }
  std::lock_guard lock(mu_);
  TEMOIN_ASSIGN_OR_RETURN(auto grant, registry_->Grant(req.reviewer_device_id(), req.project()));
  if (!grant.has_value()) return absl::NotFoundError("that reviewer has no grant for the project");
  WriteBatch batch;
  batch.Delete(keys::Grant(req.reviewer_device_id(), req.project()));
  TEMOIN_RETURN_IF_ERROR(audit_->CommitWith(
      std::move(batch),
      {{session.device_id(), "grant.remove", req.reviewer_device_id(), req.project()}}));
  return v1::RemoveGrantResponse();
}

absl::StatusOr<v1::RevokeDeviceResponse> AdminOps::RevokeDevice(
    const Session& session, const v1::RevokeDeviceRequest& req) {
  TEMOIN_RETURN_IF_ERROR(RequireRole(session, v1::ROLE_ADMIN));
  if (req.device_id().size() != crypto::kDeviceIdBytes) {
    return absl::InvalidArgumentError("device id has wrong length");
  }
  if (req.device_id() == session.device_id()) {
    return absl::FailedPreconditionError("an admin cannot revoke the device it is using");
  }
  TEMOIN_ASSIGN_OR_RETURN(v1::ServerConfig config, registry_->Config());
  v1::WipeOrderBody body;
  if (!body.ParseFromString(req.wipe_order().body()) || body.device_id() != req.device_id() ||
      !crypto::VerifySignature(config.org_public_key(), kWipeOrderContext, req.wipe_order().body(),
                               req.wipe_order().org_signature())
           .ok()) {
    return absl::UnauthenticatedError(
        "wipe order is not signed by the organisation key for this device");
  }
  std::lock_guard lock(mu_);
  TEMOIN_ASSIGN_OR_RETURN(auto device, registry_->Device(req.device_id()));
  if (!device.has_value()) return absl::NotFoundError("no such device");
  TEMOIN_ASSIGN_OR_RETURN(std::vector<std::string> granted,
                          registry_->GrantedProjects(req.device_id()));
  WriteBatch batch;
  device->set_revoked(true);
  batch.Put(keys::Device(req.device_id()), device->SerializeAsString());
  batch.Put(keys::WipeOrder(req.device_id()), req.wipe_order().SerializeAsString());
  v1::RevokeDeviceResponse response;
  for (const std::string& name : granted) {
    batch.Delete(keys::Grant(req.device_id(), name));
    response.add_ungranted_projects(name);
  }
  TEMOIN_RETURN_IF_ERROR(audit_->CommitWith(
      std::move(batch),
      {{session.device_id(), "device.revoke", req.device_id(), device->project()}}));
  if (on_revoke_) {
    // The revocation stands either way; what is not released now, the periodic
    // expiry releases (it drops every partial upload of a revoked device).
    on_revoke_(req.device_id()).IgnoreError();
  }
  return response;
}

absl::StatusOr<v1::AnnounceTlsKeyResponse> AdminOps::AnnounceTlsKey(
    const Session& session, const v1::AnnounceTlsKeyRequest& req) {
  TEMOIN_RETURN_IF_ERROR(RequireRole(session, v1::ROLE_ADMIN));
  TEMOIN_ASSIGN_OR_RETURN(v1::ServerConfig config, registry_->Config());
  v1::TlsKeyAnnouncementBody body;
  if (!body.ParseFromString(req.announcement().body()) || body.next_spki_sha256().size() != 32 ||
      !crypto::VerifySignature(config.org_public_key(), kTlsAnnouncementContext,
                               req.announcement().body(), req.announcement().org_signature())
           .ok()) {
    return absl::UnauthenticatedError(
        "TLS key announcement is not signed by the organisation key or names no 32-byte pin");
  }
  WriteBatch batch;
  batch.Put(keys::NextTlsKey(), req.announcement().SerializeAsString());
  TEMOIN_RETURN_IF_ERROR(audit_->CommitWith(
      std::move(batch), {{session.device_id(), "tls.announce", body.next_spki_sha256(), ""}}));
  return v1::AnnounceTlsKeyResponse();
}

absl::StatusOr<v1::GetAuditLogResponse> AdminOps::GetAuditLog(const Session& session,
                                                              const v1::GetAuditLogRequest& req) {
  TEMOIN_RETURN_IF_ERROR(RequireRole(session, v1::ROLE_ADMIN));
  return audit_->Read(req.after_index(), req.limit());
}

}  // namespace temoin::server
