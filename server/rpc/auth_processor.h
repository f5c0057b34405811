#ifndef TEMOIN_SERVER_RPC_AUTH_PROCESSOR_H_
#define TEMOIN_SERVER_RPC_AUTH_PROCESSOR_H_

#include "absl/status/statusor.h"
#include "grpcpp/security/auth_metadata_processor.h"
#include "grpcpp/server_context.h"
#include "server/core/sessions.h"

namespace temoin::server {

inline constexpr char kDevicePropertyName[] = "temoin.device_id";
// Trailing metadata of a refused sign-in that carries the device's WipeOrder.
inline constexpr char kWipeOrderMetadata[] = "temoin-wipe-order-bin";

// Runs before any handler: a call that carries "authorization: Bearer <token>" has it
// verified (MAC, expiry, revocation) and the device id put in the call's auth context;
// a bad token fails the call with UNAUTHENTICATED or PERMISSION_DENIED before the
// handler is reached. Calls without a token pass through with no identity, which only
// the Enrollment service accepts (see SessionFromContext).
class AuthProcessor final : public grpc::AuthMetadataProcessor {
 public:
  explicit AuthProcessor(SessionAuthority* sessions) : sessions_(sessions) {}  // Not owned.
  bool IsBlocking() const override { return true; }                            // it reads the store
  grpc::Status Process(const InputMetadata& auth_metadata, grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata,
                       OutputMetadata* response_metadata) override;

 private:
  SessionAuthority* const sessions_;
};

// The session of an authenticated call: the token is checked again (cheap) so that a
// device revoked since the processor ran is refused too. kUnauthenticated "sign in
// first: this call needs a session token" when the call has none.
absl::StatusOr<Session> SessionFromContext(const grpc::ServerContext& context,
                                           SessionAuthority& sessions);

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_RPC_AUTH_PROCESSOR_H_
