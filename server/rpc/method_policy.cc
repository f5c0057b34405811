#include "server/rpc/method_policy.h"

#include <algorithm>

namespace temoin::server {

const std::vector<MethodPolicy>& AllMethodPolicies() {
  using enum CallerNeeds;
  static const auto* const kPolicies = new std::vector<MethodPolicy>{
      // Enrollment: the only calls a device makes before it has a session.
      {"/temoin.v1.Enrollment/Enroll", kNothing, false},
      {"/temoin.v1.Enrollment/Challenge", kNothing, false},
      {"/temoin.v1.Enrollment/Authenticate", kNothing, false},
      {"/temoin.v1.Admin/CreateProject", kSession, false},
      {"/temoin.v1.Admin/CreateInvite", kSession, false},
      {"/temoin.v1.Admin/ListDevices", kSession, false},
      {"/temoin.v1.Admin/PutGrant", kSession, false},
      {"/temoin.v1.Admin/GetProjectSecrets", kSession, false},
      {"/temoin.v1.Admin/RotateProjectKey", kSession, false},
      {"/temoin.v1.Admin/ListGrants", kSession, false},
      {"/temoin.v1.Admin/RemoveGrant", kSession, false},
      {"/temoin.v1.Admin/RevokeDevice", kSession, false},
      {"/temoin.v1.Admin/GetAuditLog", kSession, false},
      {"/temoin.v1.Admin/AnnounceTlsKey", kSession, false},
      {"/temoin.v1.Admin/CertifyServerKeys", kSession, false},
      {"/temoin.v1.Sync/GetSettings", kSession, false},
      {"/temoin.v1.Sync/Upload", kSessionOrSignIn, true},
      {"/temoin.v1.Sync/QueryAttachments", kSession, false},
      {"/temoin.v1.Sync/UploadAttachment", kSession, true},
      {"/temoin.v1.Sync/FetchAttachment", kSession, true},
      {"/temoin.v1.Sync/Relay", kSession, true},
      {"/temoin.v1.Sync/GetLogProofs", kSession, false},
      {"/temoin.v1.Review/ListRecords", kSession, false},
      {"/temoin.v1.Review/FetchRecords", kSession, true},
      {"/temoin.v1.Review/GetGrants", kSession, false},
      // gRPC's standard health service (grpc.health.v1), served by grpc++ itself. A
      // probe (load balancer, systemd, Kubernetes) has no session, and Check reveals
      // only whether the store is open and writable. Watch is refused to everyone: a
      // stream held open per caller costs memory, escapes the stream watchdog (it is
      // not our reactor), and no probe needs it.
      {"/grpc.health.v1.Health/Check", kNothing, false},
      {"/grpc.health.v1.Health/Watch", kNobody, true},
  };
  return *kPolicies;
}

std::optional<MethodPolicy> PolicyForPath(std::string_view path) {
  const std::vector<MethodPolicy>& all = AllMethodPolicies();
  auto it =
      std::find_if(all.begin(), all.end(), [&](const MethodPolicy& p) { return p.path == path; });
  if (it == all.end()) return std::nullopt;
  return *it;
}

}  // namespace temoin::server
