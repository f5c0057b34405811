#include "server/core/core.h"

#include "common/status_macros.h"

namespace temoin::server {

absl::StatusOr<v1::GetSettingsResponse> Core::GetSettings(const Session& session) {
  v1::GetSettingsResponse response;
  *response.mutable_vocabulary() = vocabulary_;
  if (bundle_key_.has_value()) response.set_bundle_public_key(bundle_key_->public_key());
  if (!session.device.project_id().empty()) {
    TEMOIN_ASSIGN_OR_RETURN(auto project, registry_.ProjectById(session.device.project_id()));
    if (project.has_value()) *response.mutable_project_keys() = project->keys();
  }
  return response;
}

}  // namespace temoin::server
