#include "client/sync/connection.h"

#include <sodium.h>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "common/status_macros.h"
#include "common/tls_pin.h"
#include "crypto/auth.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/tls_certificate_verifier.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "grpcpp/support/channel_arguments.h"

namespace temoin::client {
namespace {

// Accepts the server only if its leaf key matches the pin. Runs synchronously inside
// the TLS handshake.
class SpkiPinVerifier final : public grpc::experimental::ExternalCertificateVerifier {
 public:
  explicit SpkiPinVerifier(std::string pin) : pin_(std::move(pin)) {}

  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)>, grpc::Status* sync_status) override {
    grpc::string_ref cert = request->peer_cert();
    absl::StatusOr<std::string> spki =
        SpkiSha256FromPem(absl::string_view(cert.data(), cert.size()));
    if (!spki.ok() || spki->size() != pin_.size() ||
        sodium_memcmp(spki->data(), pin_.data(), pin_.size()) != 0) {
      *sync_status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                  "server certificate does not match the pinned key");
    } else {
      *sync_status = grpc::Status::OK;
    }
    return true;  // synchronous
  }
  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest*) override {}

 private:
  const std::string pin_;
};

}  // namespace

absl::Status FromGrpc(const grpc::Status& status, const std::string& address) {
  if (status.ok()) return absl::OkStatus();
  absl::StatusCode code = static_cast<absl::StatusCode>(status.error_code());
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    return absl::UnavailableError(absl::StrCat(
        "cannot reach the server at ", address, " (", status.error_message(),
        "); check the link, or whether the server's key still matches this device's pin"));
  }
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::DeadlineExceededError(
        absl::StrCat("the server at ", address, " did not answer in time; try again"));
  }
  return absl::Status(code, status.error_message());
}

absl::StatusOr<std::unique_ptr<Connection>> Connection::Create(const std::string& address,
                                                               const std::string& spki_sha256) {
  if (spki_sha256.size() != 32) return absl::InvalidArgumentError("TLS pin has wrong length");
  auto verifier =
      grpc::experimental::ExternalCertificateVerifier::Create<SpkiPinVerifier>(spki_sha256);
  grpc::experimental::TlsChannelCredentialsOptions options;
  options.set_verify_server_certs(false);  // no CA: the pin above is the whole of trust
  options.set_check_call_host(false);
  options.set_certificate_verifier(verifier);
  std::shared_ptr<grpc::ChannelCredentials> credentials =
      grpc::experimental::TlsCredentials(options);

  grpc::ChannelArguments args;
  // Slow links: a connect/handshake deadline long enough for 2G (in gRPC's C core the
  // minimum reconnect backoff is also the connect deadline), keepalive only during calls.
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 20000);
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 1000);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 60000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 60000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 20000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 0);
  args.SetMaxReceiveMessageSize(16 << 20);
  args.SetSslTargetNameOverride("temoin-server");

  std::unique_ptr<Connection> connection(new Connection());
  connection->address_ = address;
  connection->channel_ = grpc::CreateCustomChannel(address, credentials, args);
  connection->enrollment_ = v1::Enrollment::NewStub(connection->channel_);
  connection->admin_ = v1::Admin::NewStub(connection->channel_);
  connection->sync_ = v1::Sync::NewStub(connection->channel_);
  connection->review_ = v1::Review::NewStub(connection->channel_);
  return connection;
}

std::unique_ptr<grpc::ClientContext> Connection::NewContext(std::chrono::seconds deadline) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + deadline);
  if (!token_.empty()) context->AddMetadata("authorization", absl::StrCat("Bearer ", token_));
  return context;
}

absl::Status Connection::SignIn(const std::string& device_id, const crypto::SigningKey& device_key,
                                const v1::GetSettingsRequest* settings_request,
                                v1::GetSettingsResponse* settings) {
  v1::ChallengeRequest challenge_request;
  challenge_request.set_device_id(device_id);
  v1::ChallengeResponse challenge;
  TEMOIN_RETURN_IF_ERROR(FromGrpc(
      enrollment_->Challenge(NewContext().get(), challenge_request, &challenge), address_));
  v1::AuthenticateRequest auth_request;
  auth_request.set_device_id(device_id);
  auth_request.set_nonce(challenge.nonce());
  auth_request.set_signature(device_key.Sign(
      crypto::kAuthContext, crypto::AuthChallengeMessage(challenge.nonce(), device_id)));
  if (settings_request != nullptr) *auth_request.mutable_settings() = *settings_request;
  v1::AuthenticateResponse auth;
  std::unique_ptr<grpc::ClientContext> context = NewContext();
  grpc::Status status = enrollment_->Authenticate(context.get(), auth_request, &auth);
  if (status.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
    // A revoked device: pass on the wipe order, if any, for the caller to verify
    // against the pinned organisation key (see ObeyWipeOrder in the CLI).
    absl::Status refused = FromGrpc(status, address_);
    const auto& trailers = context->GetServerTrailingMetadata();
    auto it = trailers.find(kWipeOrderTrailer);
    if (it != trailers.end()) {
      refused.SetPayload(kWipeOrderPayload,
                         absl::Cord(absl::string_view(it->second.data(), it->second.size())));
    }
    return refused;
  }
  TEMOIN_RETURN_IF_ERROR(FromGrpc(status, address_));
  token_ = auth.token();
  if (settings != nullptr && auth.has_settings()) *settings = std::move(*auth.mutable_settings());
  return absl::OkStatus();
}

}  // namespace temoin::client
