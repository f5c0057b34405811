#ifndef TEMOIN_SERVER_CORE_SESSIONS_H_
#define TEMOIN_SERVER_CORE_SESSIONS_H_

#include <map>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/clock.h"
#include "crypto/secret_buffer.h"
#include "server/core/registry.h"
#include "server/core/session.h"

namespace temoin::server {

// Challenge-signature authentication and session tokens.
//
// A device asks for a challenge (32 random bytes, single use, 60 s), signs it with its
// enrolled Ed25519 key, and gets a token: device_id || expiry || random, MACed with a
// key drawn at server start (so a restart signs everyone out; nothing to steal on
// disk). Every call's token is checked, and the device looked up again, before any
// handler runs: revocation takes effect on the next call. Thread-safe.
class SessionAuthority {
 public:
  static constexpr int64_t kChallengeTtlSeconds = 60;
  static constexpr int64_t kSessionTtlSeconds = 15 * 60;
  static constexpr size_t kMaxOutstandingChallenges = 100000;

  // Neither owned; both must outlive this.
  SessionAuthority(Registry* registry, const Clock* clock);

  // A fresh nonce for `device_id` (untrusted; not looked up, so this is no oracle of
  // which devices exist). kInvalidArgument on a malformed id; kResourceExhausted when
  // too many challenges are outstanding.
  absl::StatusOr<std::string> IssueChallenge(absl::string_view device_id);

  // Checks the signature over the challenge and issues a token. All inputs untrusted.
  // kUnauthenticated "authentication failed" for an unknown, expired or reused nonce,
  // a wrong signature or an unknown device; kPermissionDenied "device has been
  // revoked" for a revoked one, and only once its signature has checked (the RPC layer
  // relies on this to hand the wipe order to that device alone).
  absl::StatusOr<std::string> Authenticate(absl::string_view device_id, absl::string_view nonce,
                                           absl::string_view signature);

  // `token` untrusted. kUnauthenticated "session token is not valid" or "session has
  // expired; sign in again"; kPermissionDenied "device has been revoked".
  absl::StatusOr<Session> Verify(absl::string_view token);

 private:
  struct Challenge {
    std::string device_id;
    int64_t expires_at;
  };
  void DropExpiredLocked(int64_t now);

  Registry* const registry_;
  const Clock* const clock_;
  const crypto::SecretBuffer mac_key_;
  std::mutex mu_;
  std::map<std::string, Challenge> challenges_;  // by nonce
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_CORE_SESSIONS_H_
