#ifndef TEMOIN_TESTS_E2E_RAW_CLIENT_H_
#define TEMOIN_TESTS_E2E_RAW_CLIENT_H_

// A client of the real server that bypasses `temoin`: its own channels (one connection
// each), a monitor it enrols and signs in with raw calls, and the server process's
// threads, memory and descriptors. For the flood test and the idle-streams benchmark.

#include <sys/types.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "crypto/keys.h"
#include "grpcpp/channel.h"
#include "temoin/v1/enrollment.pb.h"
#include "tests/e2e/deployment.h"

namespace temoin::e2e {

struct ProcessUsage {
  int threads = 0;
  int64_t rss_kib = 0;
  int fds = 0;
};
ProcessUsage UsageOf(pid_t pid);
std::string Describe(const ProcessUsage& usage);

class RawClient {
 public:
  // Trusts the certificate in the deployment's data directory.
  static absl::StatusOr<RawClient> For(const Deployment& d);

  // A channel on a connection of its own: channels with distinct `index` share none.
  std::shared_ptr<grpc::Channel> Channel(int index) const;

  // Enrols a monitor of the deployment's project with raw calls (an invite from the
  // admin through `temoin`), and signs it in: a session token.
  absl::Status EnrolMonitor(const Deployment& d);
  absl::StatusOr<std::string> SignIn() const;
  // The same with a challenge, returning the server's next nonce (for a later sign-in
  // without a challenge) instead of the token.
  absl::StatusOr<std::string> SignInForNextNonce() const;
  // A sign-in request over `nonce`, signed by the monitor's key (Enrollment.Authenticate,
  // or an Upload's "temoin-sign-in-bin" metadata).
  v1::AuthenticateRequest SignedSignIn(const std::string& nonce) const;
  const std::string& device_id() const { return device_id_; }

 private:
  RawClient() = default;
  int port_ = 0;
  std::string cert_pem_;
  std::shared_ptr<crypto::SigningKey> key_;
  std::string device_id_;
};

}  // namespace temoin::e2e

#endif  // TEMOIN_TESTS_E2E_RAW_CLIENT_H_
