#ifndef TEMOIN_CLIENT_SYNC_UPLOAD_SIGN_IN_H_
#define TEMOIN_CLIENT_SYNC_UPLOAD_SIGN_IN_H_

#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/sync/connection.h"
#include "client/vault/vault.h"
#include "grpcpp/client_context.h"
#include "temoin/v1/client_store.pb.h"
#include "temoin/v1/sync.pb.h"

namespace temoin::client {

// A sync's sign-in carried by its first Upload call instead of an Authenticate call of
// its own (sync.proto UploadResponse.sign_in, issue 13): the device's pre-issued nonce,
// signed, goes in the call's metadata, and the first batch right behind it without
// waiting for an answer. One call and one round trip less per sync.
//
// The answer is the stream's first message and is taken before any receipt: the
// session token (for this connection's later calls), the next nonce (stored), and the
// settings with the log check (`take_settings`). A failed check ends the stream
// before any receipt is taken, so nothing is purged without a checked log; the
// records that went up stay sealed on the device. Devices that must check the log
// before anything goes up sign in apart (sync_engine.cc SignsInOnUpload).
class UploadSignIn {
 public:
  using TakeSettings = std::function<absl::Status(const v1::GetSettingsResponse&)>;

  // nullptr when the device holds no pre-issued nonce: a challenge would cost a call
  // anyway, so the caller signs in apart (Connection::SignIn).
  static absl::StatusOr<std::unique_ptr<UploadSignIn>> Prepare(
      Vault& vault, const v1::Profile& profile, Connection& connection,
      const v1::GetSettingsRequest& settings_request, TakeSettings take_settings);

  // Puts the sign-in in the call's metadata (instead of a session token).
  void AddTo(grpc::ClientContext& context) const;

  // The server's answer (UploadResponse.sign_in, untrusted bytes): token, next nonce,
  // settings. Once only; kDataLoss for an answer that does not parse or lacks the
  // settings asked for.
  absl::Status Take(const std::string& answer);
  bool answered() const { return answered_; }

  // How a call that ended before the answer failed, said as a sign-in's refusal would
  // be (a revoked device's wipe order, a refused TLS key). On UNAUTHENTICATED
  // `nonce_refused` says the caller should retry signing in apart; a nonce the server
  // refused (used, expired, a server restored from a copy) is forgotten first, so that
  // the retry asks for a challenge. A server from before this feature ("sign in first")
  // leaves it kept: each sync then costs it one refused Upload before signing in apart.
  absl::Status Refused(const grpc::Status& status, const grpc::ClientContext& context);
  bool nonce_refused() const { return nonce_refused_; }

 private:
  UploadSignIn(Vault& vault, Connection& connection, std::string nonce, std::string request,
               TakeSettings take_settings)
      : vault_(vault),
        connection_(connection),
        nonce_(std::move(nonce)),
        request_(std::move(request)),
        take_settings_(std::move(take_settings)) {}

  Vault& vault_;
  Connection& connection_;
  const std::string nonce_;    // the pre-issued nonce signed
  const std::string request_;  // the serialised AuthenticateRequest
  const TakeSettings take_settings_;
  bool answered_ = false;
  bool nonce_refused_ = false;
};

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_SYNC_UPLOAD_SIGN_IN_H_
