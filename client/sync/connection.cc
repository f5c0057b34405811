#include "client/sync/connection.h"

#include <openssl/bio.h>
#include <openssl/conf.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include <mutex>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "client/core/device_state.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "common/tls_pin.h"
#include "crypto/auth.h"
#include "crypto/secret_buffer.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/tls_certificate_verifier.h"
#include "grpcpp/security/tls_credentials_options.h"
#include "grpcpp/support/channel_arguments.h"

namespace temoin::client {
namespace {

bool SamePin(const std::string& a, const std::string& b) {
  return a.size() == 32 && b.size() == 32 && sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

// Accepts the server only if its leaf key matches the pin, or the announced next pin
// during a TLS key rotation. Runs synchronously inside the TLS handshake; remembers
// which pin matched, or which key a refused server presented (so the device can say
// what to do instead of a bare TLS error).
class SpkiPinVerifier final : public grpc::experimental::ExternalCertificateVerifier {
 public:
  SpkiPinVerifier(std::string pin, std::string next_pin)
      : pin_(std::move(pin)), next_pin_(std::move(next_pin)) {}

  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)>, grpc::Status* sync_status) override {
    grpc::string_ref cert = request->peer_cert();
    absl::StatusOr<std::string> spki =
        SpkiSha256FromPem(absl::string_view(cert.data(), cert.size()));
    std::lock_guard lock(mu_);
    if (spki.ok() && SamePin(*spki, pin_)) {
      *sync_status = grpc::Status::OK;
    } else if (spki.ok() && SamePin(*spki, next_pin_)) {
      matched_next_ = true;
      *sync_status = grpc::Status::OK;
    } else {
      refused_pin_ = spki.ok() ? *spki : "";
      *sync_status = grpc::Status(grpc::StatusCode::UNAUTHENTICATED,
                                  "server certificate does not match the pinned key");
    }
    return true;  // synchronous
  }
  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest*) override {}

  bool matched_next() {
    std::lock_guard lock(mu_);
    return matched_next_;
  }
  std::string refused_pin() {
    std::lock_guard lock(mu_);
    return refused_pin_;
  }

 private:
  const std::string pin_;
  const std::string next_pin_;
  std::mutex mu_;
  bool matched_next_ = false;
  std::string refused_pin_;  // the SPKI SHA-256 of the last refused server key
};

namespace {

// gRPC owns the verifier it creates; this forwards to one the Connection shares, so the
// Connection can ask afterwards which key the server presented.
class SharedPinVerifier final : public grpc::experimental::ExternalCertificateVerifier {
 public:
  explicit SharedPinVerifier(std::shared_ptr<SpkiPinVerifier> inner) : inner_(std::move(inner)) {}
  bool Verify(grpc::experimental::TlsCustomVerificationCheckRequest* request,
              std::function<void(grpc::Status)> callback, grpc::Status* sync_status) override {
    return inner_->Verify(request, std::move(callback), sync_status);
  }
  void Cancel(grpc::experimental::TlsCustomVerificationCheckRequest* request) override {
    inner_->Cancel(request);
  }

 private:
  std::shared_ptr<SpkiPinVerifier> inner_;
};

// Trims the ClientHello (306 -> ~210 bytes on every connection) with an in-memory
// OpenSSL configuration, as the server turns tickets off (server/app/
// tls_certificate.cc): gRPC 1.51 offers no TLS settings of its own, and this applies to
// every SSL_CTX created after it in this process (the client's only). The peer is
// always a Temoin server: TLS 1.3 only (so the TLS 1.2 suites and extensions are not
// needed), its AES-128-GCM suite, and the one signature scheme of its P-256
// certificate (server/app/tls_certificate.cc; the pin is on that key, so another key
// type would mean re-enrolling anyway). gRPC still sets the P-256 group, its cipher
// list and ALPN itself; the pin check is unchanged. Middlebox compatibility mode stays
// on: without it (-76 bytes) the handshake would stand out to, and may be dropped by,
// the middleboxes of the networks devices sync over. Best effort: on failure the
// defaults stay, which work the same.
void TrimClientHello() {
  if (OPENSSL_init_ssl(OPENSSL_INIT_LOAD_CONFIG, nullptr) != 1) return;  // system config first
  static constexpr char kConfig[] =
      "openssl_conf = temoin_init\n"
      "[temoin_init]\n"
      "ssl_conf = temoin_ssl\n"
      "[temoin_ssl]\n"
      "system_default = temoin_tls\n"
      "[temoin_tls]\n"
      "Protocol = -SSLv3, -TLSv1, -TLSv1.1, -TLSv1.2\n"
      "Ciphersuites = TLS_AES_128_GCM_SHA256\n"
      "SignatureAlgorithms = ECDSA+SHA256\n"
      // TLS 1.2 only, or for tickets the server never issues.
      "Options = -SessionTicket, -EncryptThenMac, -ExtendedMasterSecret\n";
  std::unique_ptr<CONF, decltype(&NCONF_free)> conf(NCONF_new(nullptr), &NCONF_free);
  std::unique_ptr<BIO, decltype(&BIO_free_all)> bio(BIO_new_mem_buf(kConfig, -1), &BIO_free_all);
  long error_line = 0;
  if (conf && bio && NCONF_load_bio(conf.get(), bio.get(), &error_line) == 1) {
    CONF_modules_load(conf.get(), nullptr, 0);
  }
}

}  // namespace

absl::Status FromGrpc(const grpc::Status& status, const std::string& address) {
  if (status.ok()) return absl::OkStatus();
  absl::StatusCode code = static_cast<absl::StatusCode>(status.error_code());
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    // The same code comes from a link that failed and from a server that refuses for
    // now (e.g. its synchronous standby is down): name both, the server's words first.
    return absl::UnavailableError(absl::StrCat(
        "cannot reach the server at ", address, ", or it is unavailable (", status.error_message(),
        "); try again later, and if it persists check the link, or whether the server's "
        "key still matches this device's pin"));
  }
  if (status.error_code() == grpc::StatusCode::CANCELLED) {
    // This client reports its own cancellations (a bad answer, a full window) itself and
    // never passes their status here: a cancelled call was ended by the server, mostly
    // as it shut down for a restart. Unavailable, so that `sync --watch` and
    // `--until-done` try again rather than stop.
    return absl::UnavailableError(absl::StrCat(
        "the server at ", address, " ended the call (it may be restarting); try again later"));
  }
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED) {
    return absl::DeadlineExceededError(
        absl::StrCat("the server at ", address, " did not answer in time; try again"));
  }
  if (status.error_message().empty()) {
    // gRPC's own refusals (e.g. a method an older server does not have) carry no text.
    return absl::Status(code, absl::StrCat("the server at ", address, " refused the call (",
                                           absl::StatusCodeToString(code), ")"));
  }
  return absl::Status(code, status.error_message());
}

absl::StatusOr<std::unique_ptr<Connection>> Connection::Create(
    const std::string& address, const std::string& spki_sha256, bool bulk_downloads,
    const std::string& next_spki_sha256) {
  if (spki_sha256.size() != 32) return absl::InvalidArgumentError("TLS pin has wrong length");
  static std::once_flag trimmed;
  std::call_once(trimmed, TrimClientHello);
  auto pin_verifier = std::make_shared<SpkiPinVerifier>(spki_sha256, next_spki_sha256);
  auto verifier =
      grpc::experimental::ExternalCertificateVerifier::Create<SharedPinVerifier>(pin_verifier);
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
  // Bytes of every connection's first call on 2G:
  // - Identity only: messages are never compressed (records are compressed before
  //   sealing, and compressing beside secrets would be a length oracle), so offering
  //   deflate and gzip was 13 B of grpc-accept-encoding in every call's headers.
  // - No BDP probes unless `bulk_downloads`: after the first response's data, gRPC pings
  //   to estimate the link's bandwidth-delay product (one PING up and its ack down,
  //   78 B with TLS, on every sync) to grow the receive window past 64 KiB, and its
  //   preface announces a 4 MiB window (19 B more). Without them the window stays at
  //   64 KiB: far above a 2G link's bandwidth-delay product, and only what the server
  //   sends is bounded by it (uploads are bounded by the server's window). Reviewers,
  //   who download records and attachments, keep the probes for fast links.
  args.SetInt(GRPC_COMPRESSION_CHANNEL_ENABLED_ALGORITHMS_BITSET, 1 << GRPC_COMPRESS_NONE);
  if (!bulk_downloads) args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);

  std::unique_ptr<Connection> connection(new Connection());
  connection->address_ = address;
  connection->pin_ = spki_sha256;
  connection->pin_verifier_ = std::move(pin_verifier);
  connection->channel_ = grpc::CreateCustomChannel(address, credentials, args);
  connection->MakeStubs();
  return connection;
}

void Connection::MakeStubs() {
  enrollment_ = v1::Enrollment::NewStub(channel_);
  admin_ = v1::Admin::NewStub(channel_);
  sync_ = v1::Sync::NewStub(channel_);
  review_ = v1::Review::NewStub(channel_);
}

Connection::~Connection() { crypto::WipeString(token_); }

std::unique_ptr<Connection> Connection::OnSameChannel() const {
  std::unique_ptr<Connection> connection(new Connection());
  connection->address_ = address_;
  connection->pin_ = pin_;
  connection->pin_verifier_ = pin_verifier_;
  connection->channel_ = channel_;
  connection->MakeStubs();
  return connection;
}

bool Connection::server_presented_next_pin() const { return pin_verifier_->matched_next(); }

absl::Status Connection::ExplainRefusedKey(absl::Status status) const {
  if (status.code() != absl::StatusCode::kUnavailable) return status;
  std::string presented = pin_verifier_->refused_pin();
  if (presented.size() != 32) return status;
  const std::string key = ToHex(presented);
  return absl::FailedPreconditionError(absl::StrCat(
      "the server at ", address_, " presents TLS key ", key, ", not the key this device pinned (",
      ToHex(pin_),
      "). If your organisation rotated the server's TLS key while this device was away, ask "
      "your admin to confirm that key (temoin-server tls next printed it; temoin admin "
      "rotate-tls announced it), then run: temoin repin --pin ",
      key, "  If nobody rotated it, do not sync: someone may be intercepting the connection."));
}

std::unique_ptr<grpc::ClientContext> Connection::NewContext(std::chrono::seconds deadline) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + deadline);
  if (!token_.empty()) context->AddMetadata("authorization", absl::StrCat("Bearer ", token_));
  return context;
}

v1::AuthenticateRequest Connection::SignInRequest(const std::string& device_id,
                                                  const crypto::SigningKey& device_key,
                                                  const std::string& nonce,
                                                  const v1::GetSettingsRequest* settings_request,
                                                  bool no_session) const {
  v1::AuthenticateRequest request;
  request.set_device_id(device_id);
  request.set_nonce(nonce);
  request.set_signature(
      device_key.Sign(crypto::kAuthContext, crypto::AuthChallengeMessage(nonce, device_id)));
  if (settings_request != nullptr) *request.mutable_settings() = *settings_request;
  request.set_no_session(no_session);
  // Every sign-in carries one, the same size, so that a duress sign-in looks like any.
  request.set_duress_signal(crypto::SealDuressSignal(under_duress_, nonce, bundle_public_key_));
  return request;
}

grpc::Status Connection::Authenticate(
    const std::string& device_id, const crypto::SigningKey& device_key, const std::string& nonce,
    const v1::GetSettingsRequest* settings_request, bool no_session,
    std::unique_ptr<grpc::ClientContext>& context, v1::AuthenticateResponse& response) {
  v1::AuthenticateRequest request =
      SignInRequest(device_id, device_key, nonce, settings_request, no_session);
  context = NewContext();
  return enrollment_->Authenticate(context.get(), request, &response);
}

absl::Status Connection::RefusedSignIn(const grpc::Status& status,
                                       const grpc::ClientContext& context) const {
  if (status.error_code() == grpc::StatusCode::PERMISSION_DENIED) {
    // A revoked device: pass on the wipe order, if any, for the caller to verify
    // against the pinned organisation key (see ObeyWipeOrder in the CLI).
    absl::Status refused = FromGrpc(status, address_);
    const auto& trailers = context.GetServerTrailingMetadata();
    auto it = trailers.find(kWipeOrderTrailer);
    if (it != trailers.end()) {
      refused.SetPayload(kWipeOrderPayload,
                         absl::Cord(absl::string_view(it->second.data(), it->second.size())));
    }
    return refused;
  }
  return ExplainRefusedKey(FromGrpc(status, address_));
}

absl::Status Connection::SignIn(const std::string& device_id, const crypto::SigningKey& device_key,
                                const v1::GetSettingsRequest* settings_request,
                                v1::GetSettingsResponse* settings, std::string* next_nonce,
                                bool no_session) {
  v1::AuthenticateResponse auth;
  std::unique_ptr<grpc::ClientContext> context;
  grpc::Status status;
  bool challenge_needed = true;
  if (next_nonce != nullptr && !next_nonce->empty()) {
    // One call instead of two; any UNAUTHENTICATED (used, expired, a restored server,
    // a server that never issued it) falls back to a challenge below.
    status = Authenticate(device_id, device_key, *next_nonce, settings_request, no_session, context,
                          auth);
    challenge_needed = status.error_code() == grpc::StatusCode::UNAUTHENTICATED;
  }
  if (challenge_needed) {
    v1::ChallengeRequest challenge_request;
    challenge_request.set_device_id(device_id);
    v1::ChallengeResponse challenge;
    TEMOIN_RETURN_IF_ERROR(ExplainRefusedKey(FromGrpc(
        enrollment_->Challenge(NewContext().get(), challenge_request, &challenge), address_)));
    auth.Clear();
    status = Authenticate(device_id, device_key, challenge.nonce(), settings_request, no_session,
                          context, auth);
  }
  if (!status.ok()) return RefusedSignIn(status, *context);
  token_ = auth.token();
  if (settings != nullptr && auth.has_settings()) *settings = std::move(*auth.mutable_settings());
  if (next_nonce != nullptr) *next_nonce = auth.next_nonce();
  return absl::OkStatus();
}

absl::Status SignInDevice(Connection& connection, Vault& vault, const v1::Profile& profile,
                          const v1::GetSettingsRequest* settings_request,
                          v1::GetSettingsResponse* settings, bool no_session) {
  TEMOIN_ASSIGN_OR_RETURN(crypto::SigningKey device_key, DeviceSigningKey(profile));
  // An unreadable stored nonce is as good as none: sign in with a challenge.
  std::string nonce = LoadSignInNonce(vault).value_or("");
  const std::string used = nonce;
  // A vault built by a duress unlock signals it on every sign-in (issue 12); unreadable
  // state signals nothing rather than failing a sync in front of whoever forced it.
  connection.SetDuressSignal(
      vault.UnderDuress().value_or(false),
      vault.Get(kSettingsNs, "bundle_key").value_or(std::nullopt).value_or(""));
  TEMOIN_RETURN_IF_ERROR(connection.SignIn(profile.device_id(), device_key, settings_request,
                                           settings, &nonce, no_session));
  return AfterSignIn(connection, vault, used, nonce);
}

absl::Status AfterSignIn(const Connection& connection, Vault& vault, const std::string& used_nonce,
                         const std::string& next_nonce) {
  if (next_nonce != used_nonce) StoreSignInNonce(vault, next_nonce).IgnoreError();
  if (connection.server_presented_next_pin()) {
    // The server switched to the key the organisation announced: pin it alone now.
    TEMOIN_ASSIGN_OR_RETURN(v1::Profile stored, LoadProfile(vault));
    if (stored.next_tls_spki_sha256().size() == 32) {
      stored.set_tls_spki_sha256(stored.next_tls_spki_sha256());
      stored.clear_next_tls_spki_sha256();
      VaultBatch batch;
      PutProfile(batch, stored);
      TEMOIN_RETURN_IF_ERROR(vault.Commit(batch));
    }
  }
  return absl::OkStatus();
}

}  // namespace temoin::client
