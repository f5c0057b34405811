#ifndef TEMOIN_SERVER_RPC_AUTH_PROCESSOR_H_
#define TEMOIN_SERVER_RPC_AUTH_PROCESSOR_H_

#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/auth_metadata_processor.h"
#include "grpcpp/server_context.h"
#include "server/core/sessions.h"
#include "server/rpc/call_rate_limiter.h"

namespace temoin::server {

// Trailing metadata of a refused sign-in that carries the device's WipeOrder.
inline constexpr char kWipeOrderMetadata[] = "temoin-wipe-order-bin";

// Runs on every call before any handler: a call to a method that needs a session (all
// but Enrollment's, see method_policy.h) and carries no "authorization: Bearer <token>"
// is refused with UNAUTHENTICATED at once, and a call that carries a token has it
// verified (MAC, expiry, device not revoked) and is refused on failure. Nothing without
// a valid session reaches a handler but enrolment and sign-in. A device over its call
// rate (CallRateLimiter) is refused here too, with RESOURCE_EXHAUSTED, after its token's
// MAC checked (so nobody can spend another device's rate) and before the store is read.
//
// It never writes the AuthContext it is handed: gRPC 1.51 passes the *connection's*
// context (server_auth_filter.cc hands the processor chand->auth_context), shared by
// every call on that connection, and adding a property from concurrent calls raced on
// its property array. That corrupted the heap under a stream flood (issue 16: SIGSEGV
// freeing ASCII text in grpc_auth_property_reset at channel destruction). Handlers
// read the token from the call's own metadata instead (SessionFromContext).
//
// Not blocking: the check is a MAC and one point read of the device, so it runs inline
// on gRPC's thread. A blocking processor is run by gRPC on a thread pool that grows a
// thread per waiting call, which a flood of calls would turn into thousands of threads.
class AuthProcessor final : public grpc::AuthMetadataProcessor {
 public:
  // Neither owned; both must outlive this.
  AuthProcessor(SessionAuthority* sessions, CallRateLimiter* call_rate)
      : sessions_(sessions), call_rate_(call_rate) {}
  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata,
                       OutputMetadata* response_metadata) override;

 private:
  SessionAuthority* const sessions_;
  CallRateLimiter* const call_rate_;
};

// The token of a call ("authorization: Bearer <token>"), empty when it has none.
std::string SessionTokenOf(const grpc::ServerContextBase& context);

// The session of an authenticated call: the token is verified again so that a device
// revoked since the processor ran (or since the last batch of a long stream) is
// refused too. kUnauthenticated "sign in first: this call needs a session token" when
// the call has none.
absl::StatusOr<Session> SessionFromContext(const grpc::ServerContextBase& context,
                                           SessionAuthority& sessions);

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_RPC_AUTH_PROCESSOR_H_
