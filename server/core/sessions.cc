#include "server/core/sessions.h"

#include <sodium.h>

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
constexpr absl::string_view kNextNonceContext = "temoin/next-nonce/v1";
constexpr size_t kNextNonceHashBytes = 32;
constexpr absl::string_view kChallengeContext = "temoin/challenge/v1";
constexpr size_t kChallengeRandomBytes = 12;
constexpr size_t kChallengeMacBytes = 16;
static_assert(kChallengeRandomBytes + 4 + kChallengeMacBytes == crypto::kChallengeBytes);

absl::Status AuthenticationFailed() { return absl::UnauthenticatedError("authentication failed"); }

// What keys::NextNonce holds: only a hash, so a copy of the store signs no one in.
std::string StoredNextNonce(absl::string_view nonce, int64_t expires_at) {
  return absl::StrCat(crypto::Hash256(kNextNonceContext, nonce),
                      EncodeU64BigEndian(static_cast<uint64_t>(expires_at)));
}

}  // namespace

SessionAuthority::SessionAuthority(Registry* registry, const Clock* clock)
    : registry_(registry), clock_(clock), mac_key_(crypto::SecretBuffer::Random(32)) {}

void SessionAuthority::DropExpiredLocked(int64_t now) {
  for (auto it = used_challenges_.begin(); it != used_challenges_.end();) {
    if (it->second.expires_at >= now) {
      ++it;
      continue;
    }
    auto count = used_per_device_.find(it->second.device_id);
    if (count != used_per_device_.end() && --count->second == 0) used_per_device_.erase(count);
    it = used_challenges_.erase(it);
  }
}

std::string SessionAuthority::ChallengeMac(absl::string_view device_id,
                                           absl::string_view random_and_expiry) const {
  return crypto::Mac(mac_key_, absl::StrCat(kChallengeContext, device_id, random_and_expiry))
      .substr(0, kChallengeMacBytes);
}

absl::StatusOr<std::string> SessionAuthority::IssueChallenge(absl::string_view device_id) {
  if (device_id.size() != crypto::kDeviceIdBytes) {
    return absl::InvalidArgumentError("device id has wrong length");
  }
  const int64_t expires_at = clock_->NowSeconds() + kChallengeTtlSeconds;
  std::string body = absl::StrCat(crypto::RandomBytes(kChallengeRandomBytes),
                                  EncodeU64BigEndian(static_cast<uint64_t>(expires_at)).substr(4));
  return absl::StrCat(body, ChallengeMac(device_id, body));
}

std::optional<int64_t> SessionAuthority::ChallengeExpiry(absl::string_view device_id,
                                                         absl::string_view nonce) const {
  if (nonce.size() != crypto::kChallengeBytes || device_id.size() != crypto::kDeviceIdBytes) {
    return std::nullopt;
  }
  absl::string_view body = nonce.substr(0, kChallengeRandomBytes + 4);
  const std::string expected = ChallengeMac(device_id, body);
  // Constant time, as for tokens.
  if (sodium_memcmp(expected.data(), nonce.data() + body.size(), kChallengeMacBytes) != 0) {
    return std::nullopt;
  }
  return static_cast<int64_t>(
      DecodeU64BigEndian(absl::StrCat(std::string(4, '\0'), body.substr(kChallengeRandomBytes))));
}

absl::Status SessionAuthority::MarkChallengeUsed(absl::string_view device_id,
                                                 absl::string_view nonce, int64_t expires_at,
                                                 int64_t now) {
  std::lock_guard lock(mu_);
  DropExpiredLocked(now);
  if (used_challenges_.contains(std::string(nonce))) return AuthenticationFailed();
  size_t& count = used_per_device_[std::string(device_id)];
  if (count >= kMaxUsedChallengesPerDevice) {
    return absl::ResourceExhaustedError("too many sign-ins from this device; retry later");
  }
  ++count;
  used_challenges_.emplace(std::string(nonce), UsedChallenge{std::string(device_id), expires_at});
  return absl::OkStatus();
}

std::string SessionAuthority::NonceLock(absl::string_view device_id) {
  return absl::StrCat("nonce/", device_id);
}

absl::StatusOr<std::string> SessionAuthority::IssueNextNonce(absl::string_view device_id,
                                                             int64_t now) {
  std::string nonce = crypto::RandomBytes(kNextNonceBytes);
  TEMOIN_RETURN_IF_ERROR(
      registry_->store().CommitLocked(NonceLock(device_id), [&]() -> absl::StatusOr<WriteBatch> {
        WriteBatch batch;
        batch.Put(keys::NextNonce(device_id), StoredNextNonce(nonce, now + kNextNonceTtlSeconds));
        return batch;
      }));
  return nonce;
}

// HMAC-SHA-512-256 truncated to its first kTokenMacBytes (see the header).
std::string SessionAuthority::TokenMac(absl::string_view body) const {
  return crypto::Mac(mac_key_, absl::StrCat(kTokenContext, body)).substr(0, kTokenMacBytes);
}

std::string SessionAuthority::IssueToken(absl::string_view device_id, int64_t now) {
  std::string body =
      absl::StrCat(device_id, EncodeU64BigEndian(now + kSessionTtlSeconds), crypto::RandomBytes(8));
  std::string mac = TokenMac(body);
  return ToBase64Url(absl::StrCat(body, mac));
}

absl::StatusOr<std::string> SessionAuthority::Authenticate(absl::string_view device_id,
                                                           absl::string_view nonce,
                                                           absl::string_view signature,
                                                           std::string* next_nonce) {
  int64_t now = clock_->NowSeconds();
  absl::Status checked = AuthenticateDevice(device_id, nonce, signature, now, next_nonce).status();
  metrics_->CountSignIn(checked.code());
  TEMOIN_RETURN_IF_ERROR(checked);
  {
    std::lock_guard lock(mu_);
    token_expiries_.push_back(now + kSessionTtlSeconds);
  }
  return IssueToken(device_id, now);
}

absl::StatusOr<std::string> SessionAuthority::DeviceOfSignIn(absl::string_view device_id,
                                                             absl::string_view nonce,
                                                             absl::string_view signature) {
  // Neither a pre-issued nonce nor a challenge by size: refused before the store is read.
  if (device_id.size() != crypto::kDeviceIdBytes ||
      (nonce.size() != kNextNonceBytes && nonce.size() != crypto::kChallengeBytes)) {
    return AuthenticationFailed();
  }
  TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::StoredDevice> device, registry_->Device(device_id));
  if (!device.has_value() ||
      !crypto::VerifySignature(device->signing_public_key(), crypto::kAuthContext,
                               crypto::AuthChallengeMessage(nonce, device_id), signature)
           .ok()) {
    return AuthenticationFailed();
  }
  return std::string(device_id);
}

size_t SessionAuthority::OpenSessions() {
  const int64_t now = clock_->NowSeconds();
  std::lock_guard lock(mu_);
  while (!token_expiries_.empty() && token_expiries_.front() <= now) token_expiries_.pop_front();
  return token_expiries_.size();
}

absl::StatusOr<Session> SessionAuthority::AuthenticateWithoutSession(absl::string_view device_id,
                                                                     absl::string_view nonce,
                                                                     absl::string_view signature,
                                                                     std::string* next_nonce) {
  absl::StatusOr<v1::StoredDevice> device =
      AuthenticateDevice(device_id, nonce, signature, clock_->NowSeconds(), next_nonce);
  metrics_->CountSignIn(device.status().code());
  if (!device.ok()) return device.status();
  return Session{std::move(*device)};
}

absl::StatusOr<v1::StoredDevice> SessionAuthority::AuthenticateDevice(absl::string_view device_id,
                                                                      absl::string_view nonce,
                                                                      absl::string_view signature,
                                                                      int64_t now,
                                                                      std::string* next_nonce) {
  if (next_nonce != nullptr) next_nonce->clear();
  // Not a challenge this process issued for this device: perhaps its pre-issued nonce
  // (another device's challenge fails its MAC here, and then as a pre-issued nonce).
  std::optional<int64_t> expires_at = ChallengeExpiry(device_id, nonce);
  if (!expires_at.has_value()) {
    return AuthenticatePreIssued(device_id, nonce, signature, now, next_nonce);
  }
  if (*expires_at < now) return AuthenticationFailed();
  TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::StoredDevice> device, registry_->Device(device_id));
  if (!device.has_value()) return AuthenticationFailed();
  if (!crypto::VerifySignature(device->signing_public_key(), crypto::kAuthContext,
                               crypto::AuthChallengeMessage(nonce, device_id), signature)
           .ok()) {
    return AuthenticationFailed();
  }
  // Used only now that its device has signed it: nobody else can fill the used set.
  TEMOIN_RETURN_IF_ERROR(MarkChallengeUsed(device_id, nonce, *expires_at, now));
  if (device->revoked()) return absl::PermissionDeniedError("device has been revoked");
  if (next_nonce != nullptr) {
    // A store that cannot take it (disk full) costs the device a Challenge next time.
    absl::StatusOr<std::string> next = IssueNextNonce(device_id, now);
    if (next.ok()) *next_nonce = std::move(*next);
  }
  return std::move(*device);
}

absl::StatusOr<v1::StoredDevice> SessionAuthority::AuthenticatePreIssued(
    absl::string_view device_id, absl::string_view nonce, absl::string_view signature, int64_t now,
    std::string* next_nonce) {
  // 16 bytes since next nonces were shortened; 32 from servers before that, still taken
  // within their TTL so that an upgrade costs no device a Challenge round trip.
  if (device_id.size() != crypto::kDeviceIdBytes ||
      (nonce.size() != kNextNonceBytes && nonce.size() != crypto::kChallengeBytes)) {
    return AuthenticationFailed();
  }
  // Checked and replaced under the device's store lock (Store::CommitLocked): two
  // sign-ins with one nonce, on any front-ends, one winner.
  const std::string key = keys::NextNonce(device_id);
  std::optional<v1::StoredDevice> device;
  bool checked = false;  // every check passed: a failure after this is the commit's
  std::string next = crypto::RandomBytes(kNextNonceBytes);
  absl::Status consumed =
      registry_->store().CommitLocked(NonceLock(device_id), [&]() -> absl::StatusOr<WriteBatch> {
        TEMOIN_ASSIGN_OR_RETURN(std::optional<std::string> stored, registry_->store().Get(key));
        // Unknown devices have none, like known ones that never signed in: no oracle.
        if (!stored.has_value() || stored->size() != kNextNonceHashBytes + 8) {
          return AuthenticationFailed();
        }
        std::string hash = crypto::Hash256(kNextNonceContext, nonce);
        if (sodium_memcmp(stored->data(), hash.data(), kNextNonceHashBytes) != 0) {
          return AuthenticationFailed();
        }
        int64_t expires_at = static_cast<int64_t>(
            DecodeU64BigEndian(absl::string_view(*stored).substr(kNextNonceHashBytes)));
        if (expires_at < now) return AuthenticationFailed();
        TEMOIN_ASSIGN_OR_RETURN(device, registry_->Device(device_id));
        if (!device.has_value()) return AuthenticationFailed();
        if (!crypto::VerifySignature(device->signing_public_key(), crypto::kAuthContext,
                                     crypto::AuthChallengeMessage(nonce, device_id), signature)
                 .ok()) {
          return AuthenticationFailed();  // left unused: only its device can sign over it
        }
        checked = true;
        // Consumed by its replacement (or removal), durably, before any token is issued.
        WriteBatch batch;
        if (next_nonce != nullptr && !device->revoked()) {
          batch.Put(key, StoredNextNonce(next, now + kNextNonceTtlSeconds));
        } else {
          batch.Delete(key);
        }
        return batch;
      });
  if (!checked) return consumed;
  // Revocation refuses the device whether or not its nonce's removal was stored.
  if (device->revoked()) return absl::PermissionDeniedError("device has been revoked");
  // A store that cannot take the write refuses the nonce: the device falls back to a
  // challenge, which needs no write.
  if (!consumed.ok()) return AuthenticationFailed();
  if (next_nonce != nullptr) *next_nonce = std::move(next);
  return std::move(*device);
}

absl::StatusOr<Session> SessionAuthority::Verify(absl::string_view token) {
  TEMOIN_ASSIGN_OR_RETURN(std::string device_id, DeviceOfToken(token));
  TEMOIN_ASSIGN_OR_RETURN(std::optional<v1::StoredDevice> device, registry_->Device(device_id));
  if (!device.has_value()) return absl::UnauthenticatedError("session token is not valid");
  if (device->revoked()) return absl::PermissionDeniedError("device has been revoked");
  return Session{std::move(*device)};
}

absl::StatusOr<std::string> SessionAuthority::DeviceOfToken(absl::string_view token) const {
  absl::StatusOr<std::string> raw = FromBase64Url(token, "session token");
  if (!raw.ok() || raw->size() != kTokenBodyBytes + kTokenMacBytes) {
    return absl::UnauthenticatedError("session token is not valid");
  }
  absl::string_view body = absl::string_view(*raw).substr(0, kTokenBodyBytes);
  const std::string expected = TokenMac(body);
  // Constant time: a tag compared byte by byte would leak how much of a guess is right.
  if (sodium_memcmp(expected.data(), raw->data() + kTokenBodyBytes, kTokenMacBytes) != 0) {
    return absl::UnauthenticatedError("session token is not valid");
  }
  int64_t expires_at =
      static_cast<int64_t>(DecodeU64BigEndian(body.substr(crypto::kDeviceIdBytes, 8)));
  if (expires_at < clock_->NowSeconds()) {
    return absl::UnauthenticatedError("session has expired; sign in again");
  }
  return std::string(body.substr(0, crypto::kDeviceIdBytes));
}

}  // namespace temoin::server
