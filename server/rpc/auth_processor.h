#ifndef TEMOIN_SERVER_RPC_AUTH_PROCESSOR_H_
#define TEMOIN_SERVER_RPC_AUTH_PROCESSOR_H_

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/security/auth_metadata_processor.h"
#include "grpcpp/server_context.h"
#include "server/core/sessions.h"
#include "server/rpc/call_rate_limiter.h"
#include "temoin/v1/enrollment.pb.h"

namespace temoin::server {

// Trailing metadata of a refused sign-in that carries the device's WipeOrder.
inline constexpr char kWipeOrderMetadata[] = "temoin-wipe-order-bin";
// Metadata of an Upload call opened without a token: a serialised AuthenticateRequest
// (the sign-in rides on the upload, sync.proto UploadResponse.sign_in).
inline constexpr char kSignInMetadata[] = "temoin-sign-in-bin";

// Runs on every call before any handler: a call to a method that needs a session (all
// but Enrollment's, see method_policy.h) and carries no "authorization: Bearer <token>"
// is refused with UNAUTHENTICATED at once, and a call that carries a token has it
// verified (MAC, expiry, device not revoked) and is refused on failure. An Upload may
// carry a sign-in (kSignInMetadata) instead of a token: it gets past here only when
// its device exists and its signature over the nonce checks, so a forged one is
// refused like a missing token; the handler then consumes the nonce and signs in. Nothing without
// a valid session reaches a handler but enrolment and sign-in. A device over its call
// rate (CallRateLimiter) is refused here too, with RESOURCE_EXHAUSTED, after its token's
// MAC checked (so nobody can spend another device's rate) and before the store is read;
// for an Upload's sign-in, after its signature checked (one store read and a verify).
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
  // An Upload's sign-in in place of a token: its device's signature checks, and the
  // device is within its call rate.
  grpc::Status CheckSignIn(absl::string_view sign_in);

  SessionAuthority* const sessions_;
  CallRateLimiter* const call_rate_;
};

// The token of a call ("authorization: Bearer <token>"), empty when it has none.
std::string SessionTokenOf(const grpc::ServerContextBase& context);

// The sign-in an Upload call carries instead of a token (kSignInMetadata), parsed;
// std::nullopt when it has a token, none, or one that does not parse.
std::optional<v1::AuthenticateRequest> SignInOf(const grpc::ServerContextBase& context);

// The session of `token` (untrusted), verified: SessionFromContext's errors.
absl::StatusOr<Session> SessionOfToken(absl::string_view token, SessionAuthority& sessions);

// The session of an authenticated call: the token is verified again so that a device
// revoked since the processor ran (or since the last batch of a long stream) is
// refused too. kUnauthenticated "sign in first: this call needs a session token" when
// the call has none.
absl::StatusOr<Session> SessionFromContext(const grpc::ServerContextBase& context,
                                           SessionAuthority& sessions);

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_RPC_AUTH_PROCESSOR_H_
