#include "client/sync/upload_sign_in.h"

#include <utility>

#include "absl/strings/match.h"
#include "client/core/device_state.h"
#include "common/status_macros.h"
#include "crypto/secret_buffer.h"
#include "temoin/v1/enrollment.pb.h"

namespace temoin::client {
namespace {

// The server's name for the metadata (server/rpc/auth_processor.h kSignInMetadata).
constexpr char kSignInMetadata[] = "temoin-sign-in-bin";

}  // namespace

absl::StatusOr<std::unique_ptr<UploadSignIn>> UploadSignIn::Prepare(
    Vault& vault, const v1::Profile& profile, Connection& connection,
    const v1::GetSettingsRequest& settings_request, TakeSettings take_settings) {
  // An unreadable stored nonce is as good as none (SignInDevice does the same).
  std::string nonce = LoadSignInNonce(vault).value_or("");
  if (nonce.empty()) return nullptr;
  TEMOIN_ASSIGN_OR_RETURN(crypto::SigningKey device_key, DeviceSigningKey(profile));
  // A vault built by a duress unlock signals it on every sign-in (issue 12).
  connection.SetDuressSignal(
      vault.UnderDuress().value_or(false),
      vault.Get(kSettingsNs, "bundle_key").value_or(std::nullopt).value_or(""));
  std::string request = connection
                            .SignInRequest(profile.device_id(), device_key, nonce,
                                           &settings_request, /*no_session=*/false)
                            .SerializeAsString();
  return std::unique_ptr<UploadSignIn>(new UploadSignIn(
      vault, connection, std::move(nonce), std::move(request), std::move(take_settings)));
}

void UploadSignIn::AddTo(grpc::ClientContext& context) const {
  context.AddMetadata(kSignInMetadata, request_);
}

absl::Status UploadSignIn::Take(const std::string& answer) {
  if (answered_) return absl::DataLossError("the server answered the sign-in twice");
  v1::AuthenticateResponse response;
  if (!response.ParseFromString(answer) || response.token().empty() || !response.has_settings()) {
    return absl::DataLossError("the server's answer to the sign-in on the upload is malformed");
  }
  answered_ = true;
  connection_.AdoptToken(response.token());
  crypto::WipeString(*response.mutable_token());
  TEMOIN_RETURN_IF_ERROR(AfterSignIn(connection_, vault_, nonce_, response.next_nonce()));
  return take_settings_(response.settings());
}

absl::Status UploadSignIn::Refused(const grpc::Status& status, const grpc::ClientContext& context) {
  if (status.error_code() == grpc::StatusCode::UNAUTHENTICATED) {
    nonce_refused_ = true;
    // A server from before sign-in on the upload asks for a session ("sign in first")
    // and never looked at the nonce: the retry signs in apart with it. Any other
    // refusal spent or refused the nonce: the retry asks for a challenge.
    if (!absl::StartsWith(status.error_message(), "sign in first")) {
      StoreSignInNonce(vault_, "").IgnoreError();  // the retry signs in apart anyway
    }
  }
  return connection_.RefusedSignIn(status, context);
}

}  // namespace temoin::client
