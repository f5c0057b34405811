#include "server/core/sessions.h"

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "crypto/auth.h"
#include "crypto/envelope.h"
#include "crypto/keys.h"

namespace temoin::server {
namespace {

constexpr absl::string_view kTokenContext = "temoin/session/v1";
constexpr size_t kTokenBodyBytes = crypto::kDeviceIdBytes + 8 + 8;
constexpr size_t kMacBytes = 32;

absl::Status AuthenticationFailed() { return absl::UnauthenticatedError("authentication failed"); }

}  // namespace

SessionAuthority::SessionAuthority(Registry* registry, const Clock* clock)
    : registry_(registry), clock_(clock), mac_key_(crypto::SecretBuffer::Random(32)) {}

void SessionAuthority::DropExpiredLocked(int64_t now) {
  for (auto it = challenges_.begin(); it != challenges_.end();) {
    it = it->second.expires_at < now ? challenges_.erase(it) : std::next(it);
  }
}

absl::StatusOr<std::string> SessionAuthority::IssueChallenge(absl::string_view device_id) {
  if (device_id.size() != crypto::kDeviceIdBytes) {
    return absl::InvalidArgumentError("device id has wrong length");
  }
  int64_t now = clock_->NowSeconds();
  std::string nonce = crypto::RandomBytes(crypto::kChallengeBytes);
  std::lock_guard lock(mu_);
  if (challenges_.size() >= kMaxOutstandingChallenges) DropExpiredLocked(now);
  if (challenges_.size() >= kMaxOutstandingChallenges) {
    return absl::ResourceExhaustedError("too many sign-ins in progress; retry later");
  }
  challenges_[nonce] = Challenge{std::string(device_id), now + kChallengeTtlSeconds};
  return nonce;
}

absl::StatusOr<std::string> SessionAuthority::Authenticate(absl::string_view device_id,
                                                           absl::string_view nonce,
                                                           absl::string_view signature) {
  int64_t now = clock_->NowSeconds();
  {
    std::lock_guard lock(mu_);
    auto it = challenges_.find(std::string(nonce));
    if (it == challenges_.end()) return AuthenticationFailed();
    Challenge challenge = it->second;
    challenges_.erase(it);  // single use, whatever happens next
    if (challenge.expires_at < now || challenge.device_id != device_id) {
      return AuthenticationFailed();
    }
  }
  TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::StoredDevice> device, registry_->Device(device_id));
  if (!device.has_value()) return AuthenticationFailed();
  if (!crypto::VerifySignature(device->signing_public_key(), crypto::kAuthContext,
                               crypto::AuthChallengeMessage(nonce, device_id), signature)
           .ok()) {
    return AuthenticationFailed();
  }
  if (device->revoked()) return absl::PermissionDeniedError("device has been revoked");
  std::string body =
      absl::StrCat(device_id, EncodeU64BigEndian(now + kSessionTtlSeconds), crypto::RandomBytes(8));
  std::string mac = crypto::Mac(mac_key_, absl::StrCat(kTokenContext, body));
  return ToBase64Url(absl::StrCat(body, mac));
}

absl::StatusOr<Session> SessionAuthority::Verify(absl::string_view token) {
  absl::StatusOr<std::string> raw = FromBase64Url(token, "session token");
  if (!raw.ok() || raw->size() != kTokenBodyBytes + kMacBytes) {
    return absl::UnauthenticatedError("session token is not valid");
  }
  absl::string_view body = absl::string_view(*raw).substr(0, kTokenBodyBytes);
  absl::string_view mac = absl::string_view(*raw).substr(kTokenBodyBytes);
  if (!crypto::VerifyMac(mac_key_, absl::StrCat(kTokenContext, body), mac)) {
    return absl::UnauthenticatedError("session token is not valid");
  }
  int64_t expires_at =
      static_cast<int64_t>(DecodeU64BigEndian(body.substr(crypto::kDeviceIdBytes, 8)));
  if (expires_at < clock_->NowSeconds()) {
    return absl::UnauthenticatedError("session has expired; sign in again");
  }
  TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::StoredDevice> device,
                          registry_->Device(body.substr(0, crypto::kDeviceIdBytes)));
  if (!device.has_value()) return absl::UnauthenticatedError("session token is not valid");
  if (device->revoked()) return absl::PermissionDeniedError("device has been revoked");
  return Session{std::move(*device)};
}

}  // namespace temoin::server
