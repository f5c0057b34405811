#ifndef TEMOIN_SERVER_CORE_TESTING_FAKE_DEVICE_H_
#define TEMOIN_SERVER_CORE_TESTING_FAKE_DEVICE_H_

// Test-only helpers shared by the server's protocol tests (server_core_test,
// attachments_test, store_crash_test): a device built the way the client builds one,
// and a setup-step unwrapper. Never linked into the binaries.

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/auth.h"
#include "crypto/keys.h"
#include "temoin/v1/enrollment.pb.h"

namespace temoin::server::testing {

// The value of a setup step that must succeed; aborts with the step's name otherwise
// (a broken fixture is not a test result).
template <typename T>
T Must(absl::StatusOr<T> value, const char* what) {
  if (!value.ok()) {
    std::fprintf(stderr, "setup step failed: %s: %s\n", what, value.status().ToString().c_str());
    std::abort();
  }
  return std::move(*value);
}

// A device as the client builds it: keys made locally, the enrolment proof over token
// and keys, the organisation key made on the first admin's device (never the server).
struct FakeDevice {
  crypto::SigningKey signing = crypto::SigningKey::Generate();
  crypto::BoxKeyPair box = crypto::BoxKeyPair::Generate();
  std::optional<crypto::SigningKey> org;  // bootstrap admin only
  std::string id;                         // set once enrolled
  uint64_t next_seq = 1;

  std::string ExpectedId() const {
    return crypto::DeviceIdFromKeys(signing.public_key(), box.public_key());
  }

  v1::EnrollRequest EnrollRequest(absl::string_view token) const {
    v1::EnrollRequest request;
    request.set_token(std::string(token));
    request.set_signing_public_key(signing.public_key());
    request.set_box_public_key(box.public_key());
    if (org.has_value()) request.set_org_public_key(org->public_key());
    request.set_proof(signing.Sign(
        crypto::kEnrollContext,
        crypto::EnrollProofMessage(request.token(), request.signing_public_key(),
                                   request.box_public_key(), request.org_public_key())));
    return request;
  }

  std::string SignChallenge(absl::string_view nonce) const {
    return signing.Sign(crypto::kAuthContext, crypto::AuthChallengeMessage(nonce, id));
  }
};

}  // namespace temoin::server::testing

#endif  // TEMOIN_SERVER_CORE_TESTING_FAKE_DEVICE_H_
