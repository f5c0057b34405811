#ifndef TEMOIN_SERVER_RPC_METHOD_POLICY_H_
#define TEMOIN_SERVER_RPC_METHOD_POLICY_H_

#include <optional>
#include <string_view>
#include <vector>

// Who may open each RPC, decided once per method in one table, so that the
// authentication layer can refuse a call before any handler, reactor or thread is
// involved, and so that a method added to a .proto cannot ship without somebody
// deciding (method_policy_test fails on a method the table does not name).
namespace temoin::server {

enum class CallerNeeds {
  kNothing,  // enrolment, sign-in and the health check: the caller has no session
  kSession,  // everything else: a valid session token in "authorization"
  // Sync/Upload: a session token, or instead a sign-in whose signature checks
  // (auth_processor.h kSignInMetadata), so that a sync's sign-in costs no call.
  kSessionOrSignIn,
  kNobody,  // served by a library (gRPC's health Watch) but offered to no one
};

struct MethodPolicy {
  std::string_view path;  // the HTTP/2 :path, "/temoin.v1.Sync/Upload"
  CallerNeeds needs;
  bool streaming;  // client or server streaming: watched by the stream watchdog
};

// Every method the server serves.
const std::vector<MethodPolicy>& AllMethodPolicies();

// The policy of `path`; std::nullopt for a path the server does not serve (refused
// like a call that needs a session: nothing unknown gets past authentication).
std::optional<MethodPolicy> PolicyForPath(std::string_view path);

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_RPC_METHOD_POLICY_H_
