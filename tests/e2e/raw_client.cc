#include "tests/e2e/raw_client.h"

#include <algorithm>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "common/enrollment_code.h"
#include "crypto/auth.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "temoin/v1/enrollment.grpc.pb.h"

namespace temoin::e2e {

ProcessUsage UsageOf(pid_t pid) {
  ProcessUsage usage;
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Threads:", 0) == 0) usage.threads = std::stoi(line.substr(8));
    if (line.rfind("VmRSS:", 0) == 0) usage.rss_kib = std::stoll(line.substr(6));
  }
  absl::StatusOr<CommandResult> ls = RunCommand({"/bin/ls", absl::StrCat("/proc/", pid, "/fd")});
  if (ls.ok()) usage.fds = static_cast<int>(std::count(ls->out.begin(), ls->out.end(), '\n'));
  return usage;
}

std::string Describe(const ProcessUsage& u) {
  return absl::StrCat(u.threads, " threads, ", u.rss_kib / 1024, " MiB RSS, ", u.fds, " fds");
}

absl::StatusOr<RawClient> RawClient::For(const Deployment& d) {
  RawClient client;
  client.port_ = d.port();
  absl::StatusOr<std::string> pem = ReadFile(d.server_data() + "/tls/cert.pem");
  if (!pem.ok()) return pem.status();
  client.cert_pem_ = *pem;
  return client;
}

std::shared_ptr<grpc::Channel> RawClient::Channel(int index) const {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = cert_pem_;
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("temoin-server");
  args.SetInt("temoin.raw_channel", index);  // distinct args: a connection of its own
  return grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port_), grpc::SslCredentials(ssl),
                                   args);
}

absl::Status RawClient::EnrolMonitor(const Deployment& d) {
  absl::StatusOr<std::string> text =
      d.Run(d.admin(), {"invite", "--project", kDeploymentProject, "--role", "monitor"});
  if (!text.ok()) return text.status();
  absl::StatusOr<v1::EnrollmentCode> code = DecodeEnrollmentCode(Trim(*text));
  if (!code.ok()) return code.status();
  key_ = std::make_shared<crypto::SigningKey>(crypto::SigningKey::Generate());
  crypto::BoxKeyPair box = crypto::BoxKeyPair::Generate();
  v1::EnrollRequest req;
  req.set_token(code->token());
  req.set_signing_public_key(key_->public_key());
  req.set_box_public_key(box.public_key());
  req.set_proof(key_->Sign(crypto::kEnrollContext,
                           crypto::EnrollProofMessage(req.token(), req.signing_public_key(),
                                                      req.box_public_key(), req.org_public_key())));
  v1::EnrollResponse resp;
  grpc::ClientContext ctx;
  grpc::Status s = v1::Enrollment::NewStub(Channel(0))->Enroll(&ctx, req, &resp);
  if (!s.ok()) return absl::InternalError(absl::StrCat("raw enrol: ", s.error_message()));
  device_id_ = resp.device_id();
  return absl::OkStatus();
}

namespace {

absl::StatusOr<v1::AuthenticateResponse> SignInWithChallenge(const RawClient& client) {
  auto stub = v1::Enrollment::NewStub(client.Channel(0));
  v1::ChallengeRequest creq;
  creq.set_device_id(client.device_id());
  v1::ChallengeResponse cresp;
  grpc::ClientContext c1;
  grpc::Status s = stub->Challenge(&c1, creq, &cresp);
  if (!s.ok()) return absl::InternalError(absl::StrCat("raw challenge: ", s.error_message()));
  v1::AuthenticateRequest areq = client.SignedSignIn(cresp.nonce());
  v1::AuthenticateResponse aresp;
  grpc::ClientContext c2;
  s = stub->Authenticate(&c2, areq, &aresp);
  if (!s.ok()) return absl::InternalError(absl::StrCat("raw sign-in: ", s.error_message()));
  return aresp;
}

}  // namespace

v1::AuthenticateRequest RawClient::SignedSignIn(const std::string& nonce) const {
  v1::AuthenticateRequest request;
  request.set_device_id(device_id_);
  request.set_nonce(nonce);
  request.set_signature(
      key_->Sign(crypto::kAuthContext, crypto::AuthChallengeMessage(nonce, device_id_)));
  return request;
}

absl::StatusOr<std::string> RawClient::SignIn() const {
  absl::StatusOr<v1::AuthenticateResponse> response = SignInWithChallenge(*this);
  if (!response.ok()) return response.status();
  return response->token();
}

absl::StatusOr<std::string> RawClient::SignInForNextNonce() const {
  absl::StatusOr<v1::AuthenticateResponse> response = SignInWithChallenge(*this);
  if (!response.ok()) return response.status();
  return response->next_nonce();
}

}  // namespace temoin::e2e
