#ifndef TEMOIN_CLIENT_SYNC_CONNECTION_H_
#define TEMOIN_CLIENT_SYNC_CONNECTION_H_

#include <chrono>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/vault/vault.h"
#include "crypto/keys.h"
#include "grpcpp/channel.h"
#include "grpcpp/client_context.h"
#include "temoin/v1/admin.grpc.pb.h"
#include "temoin/v1/client_store.pb.h"
#include "temoin/v1/enrollment.grpc.pb.h"
#include "temoin/v1/review.grpc.pb.h"
#include "temoin/v1/sync.grpc.pb.h"

namespace temoin::client {

// A refused sign-in of a revoked device carries the server's wipe order (untrusted
// bytes of a v1::WipeOrder) as this payload of the returned status.
inline constexpr char kWipeOrderPayload[] = "temoin/wipe-order";
inline constexpr char kWipeOrderTrailer[] = "temoin-wipe-order-bin";

class SpkiPinVerifier;  // connection.cc

// One gRPC channel over TLS to the server, for one command. Trust is the pin only: the
// server's certificate must carry the public key whose SPKI SHA-256 the device got in
// its enrolment code; no CA is consulted, so a certificate that chains to a trusted CA
// but has another key is refused, and the server can be reached by any address
// (`sync --server`). Channel settings follow reference/security-reliability.md §3 for
// slow, lossy links. Not thread-safe for SignIn; stubs are thread-safe.
class Connection {
 public:
  static constexpr std::chrono::seconds kControlDeadline{30};
  static constexpr std::chrono::seconds kTransferDeadline{600};

  // `address` host:port; `spki_sha256` 32 bytes. Does not connect yet. With
  // `bulk_downloads` (a reviewer's: records and attachments come down), gRPC's BDP
  // probes stay on to grow the receive window on fast links; otherwise they are off and
  // the window stays at HTTP/2's 64 KiB, plenty for what comes down to other devices,
  // and no probe PING (78 B each way with TLS) costs a 2G sync.
  // During a TLS key rotation `next_spki_sha256` (the org-announced next pin, 32 bytes)
  // is accepted too; empty otherwise.
  static absl::StatusOr<std::unique_ptr<Connection>> Create(
      const std::string& address, const std::string& spki_sha256, bool bulk_downloads = false,
      const std::string& next_spki_sha256 = "");

  // Challenge, sign, token. Later contexts carry the token. A server presenting neither
  // pinned key gets kFailedPrecondition naming the key it presented and `temoin repin`. A revoked
  // device gets kPermissionDenied "device has been revoked", with kWipeOrderPayload when the admin
  // left a wipe order.
  // With `settings_request`, the server's settings come back in `settings` (unset when
  // the server is too old to give them: call Sync.GetSettings then).
  // With a non-empty `*next_nonce` (the one the last sign-in got), it is signed at once,
  // skipping the Challenge call; if the server refuses it as unauthenticated (used,
  // expired, the server's data restored) this falls back once to a challenge. On
  // success `*next_nonce` is the server's nonce for the next sign-in (empty when it
  // gave none): the caller keeps it in the vault.
  // With `no_session`, the server issues no session token (AuthenticateRequest.
  // no_session): for a caller that will make no further call on this connection, such
  // as a no-op sync; any later call is refused as unauthenticated.
  absl::Status SignIn(const std::string& device_id, const crypto::SigningKey& device_key,
                      const v1::GetSettingsRequest* settings_request = nullptr,
                      v1::GetSettingsResponse* settings = nullptr,
                      std::string* next_nonce = nullptr, bool no_session = false);

  // What every later sign-in's duress signal says (issue 12; crypto/auth.h
  // SealDuressSignal): the flag, sealed to `bundle_public_key` (the server's, 32 bytes;
  // random bytes are sent when it is unknown). Off by default: flag 0, still sent.
  void SetDuressSignal(bool under_duress, std::string bundle_public_key) {
    under_duress_ = under_duress;
    bundle_public_key_ = std::move(bundle_public_key);
  }

  // What SignIn sends to Authenticate with `nonce`: the device's signature over it, the
  // duress signal, and the settings request when given. Also the sign-in an Upload
  // call carries instead of a token (client/sync/upload_sign_in.h).
  v1::AuthenticateRequest SignInRequest(const std::string& device_id,
                                        const crypto::SigningKey& device_key,
                                        const std::string& nonce,
                                        const v1::GetSettingsRequest* settings_request,
                                        bool no_session) const;

  // A sign-in call's refusal, as SignIn reports it: a revoked device's wipe order (from
  // `context`'s trailers) as kWipeOrderPayload, and a refused TLS key explained.
  absl::Status RefusedSignIn(const grpc::Status& status, const grpc::ClientContext& context) const;

  // The session token SignIn got (empty before), and one carried from an earlier
  // connection to the same server (SyncCarry), used instead of signing in.
  const std::string& token() const { return token_; }
  void AdoptToken(std::string token) { token_ = std::move(token); }
  bool signed_in() const { return !token_.empty(); }

  // A context with a deadline and, after SignIn, the session token.
  std::unique_ptr<grpc::ClientContext> NewContext(std::chrono::seconds deadline = kControlDeadline);

  v1::Enrollment::Stub& enrollment() { return *enrollment_; }
  v1::Admin::Stub& admin() { return *admin_; }
  v1::Sync::Stub& sync() { return *sync_; }
  v1::Review::Stub& review() { return *review_; }
  const std::string& address() const { return address_; }
  // A transport failure because the server presented an unpinned key, explained:
  // kFailedPrecondition naming the key it presented and `temoin repin`.
  absl::Status ExplainRefusedKey(absl::Status status) const;
  // Another Connection on this one's gRPC channel, so on its TCP and TLS connection
  // while that lasts (gRPC dials again when it has dropped), without its token:
  // `sync --watch` keeps one between syncs so that a new record costs its upload call only.
  std::unique_ptr<Connection> OnSameChannel() const;
  ~Connection();  // wipes the session token
  // Whether the server presented the next pin (it has switched keys): the caller
  // promotes the next pin to the pin.
  bool server_presented_next_pin() const;

 private:
  Connection() = default;
  void MakeStubs();  // on channel_
  // Authenticate with `nonce`; on success the token is kept.
  grpc::Status Authenticate(const std::string& device_id, const crypto::SigningKey& device_key,
                            const std::string& nonce,
                            const v1::GetSettingsRequest* settings_request, bool no_session,
                            std::unique_ptr<grpc::ClientContext>& context,
                            v1::AuthenticateResponse& response);
  std::string address_;
  std::string pin_;
  std::shared_ptr<SpkiPinVerifier> pin_verifier_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::Enrollment::Stub> enrollment_;
  std::unique_ptr<v1::Admin::Stub> admin_;
  std::unique_ptr<v1::Sync::Stub> sync_;
  std::unique_ptr<v1::Review::Stub> review_;
  std::string token_;
  bool under_duress_ = false;
  std::string bundle_public_key_;
};

// SignIn as the device of `profile`, with the next-sign-in nonce kept in `vault` (so a
// sync's sign-in is one call), storing the new one it gets. Failing to store it costs
// only a Challenge call next time, so that is not an error. `no_session` as for SignIn.
// A device whose connection saw the next pin promotes it to the pin, in the vault.
absl::Status SignInDevice(Connection& connection, Vault& vault, const v1::Profile& profile,
                          const v1::GetSettingsRequest* settings_request = nullptr,
                          v1::GetSettingsResponse* settings = nullptr, bool no_session = false);

// After a sign-in on `connection` that used `used_nonce` and got `next_nonce`: the new
// nonce stored (failing to store it costs only a Challenge call next time, so that is
// not an error), and, when the server presented the announced next TLS pin, that pin
// promoted to the pin in the vault.
absl::Status AfterSignIn(const Connection& connection, Vault& vault, const std::string& used_nonce,
                         const std::string& next_nonce);

// gRPC status -> absl, with a hint a person can act on for transport failures (the
// server's message is kept as is otherwise). A call the server cancelled (a restart)
// is kUnavailable, like a link that failed: worth trying again.
absl::Status FromGrpc(const grpc::Status& status, const std::string& address);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_SYNC_CONNECTION_H_
