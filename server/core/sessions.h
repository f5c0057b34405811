#ifndef TEMOIN_SERVER_CORE_SESSIONS_H_
#define TEMOIN_SERVER_CORE_SESSIONS_H_

#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/clock.h"
#include "crypto/secret_buffer.h"
#include "server/core/metrics.h"
#include "server/core/registry.h"
#include "server/core/session.h"

namespace temoin::server {

// Challenge-signature authentication and session tokens.
//
// A device asks for a challenge (32 bytes, single use, 60 s), signs it with its
// enrolled Ed25519 key, and gets a token: device_id || expiry || random, MACed with a
// key drawn at server start (so a restart signs everyone out; nothing to steal on
// disk). Every call's token is checked, and the device looked up again, before any
// handler runs: revocation takes effect on the next call. Thread-safe.
//
// The token's tag is HMAC-SHA-512-256 truncated to kTokenMacBytes (16): a forger must
// guess a 128-bit tag online, one sign-in-free guess per call, under a key that lives
// only as long as the process; truncated HMAC tags of 128 bits are standard (RFC 2104
// §5, NIST SP 800-107). Checked in constant time. It saves 22 base64 bytes of every
// sign-in's answer and of every later call's headers on 2G.
//
// Every sign-in also hands the device its *next* nonce, so that the next sign-in is one
// call instead of two. It is single use like a challenge, but kept durably (only its
// hash and expiry, under keys::NextNonce; a new one replaces the old) and valid for
// kNextNonceTtlSeconds: devices sync rarely, over slow links, across server restarts.
// A device whose next nonce is refused (used, expired, an older store restored) asks
// for a challenge instead, so none of this can lock a device out.
//
// A next nonce is kNextNonceBytes (16) random bytes: it only has to be unpredictable
// and never reused, and 128 bits from the CSPRNG are both (a guess succeeds with
// probability 2^-128, and is useless without the device's key anyway, since the device
// still signs nonce || device_id). Its single use is enforced by the store, not by its
// size. 32 bytes down and 32 up less on every sync. Pre-issued nonces of 32 bytes
// (from before) are still taken, as are 32-byte challenges.
//
// A device that needs no session after signing in (a monitor with nothing to send, on
// a no-op sync) signs in with AuthenticateWithoutSession: every check and the nonce's
// consumption and replacement are the same, but no token is minted, so the sign-in can
// authorise no call.
//
// Challenges are stateless, so that asking for them (which needs no sign-in) can fill
// nothing: random (12) || expiry (4, u32 be) || MAC16(key drawn at start, context ||
// device_id || random || expiry), checked in constant time. The MAC binds the
// challenge to its device and expiry, and a restart (a new key) voids every one.
// Single use is enforced by a set of the challenges already used, each kept until its
// own expiry: an entry is added only once the device's signature over it has verified,
// so only enrolled devices' keys can add entries, and each device may hold at most
// kMaxUsedChallengesPerDevice of them (more sign-ins than that within a minute is a
// broken or hostile device; it alone is refused until its entries expire).
class SessionAuthority {
 public:
  static constexpr size_t kNextNonceBytes = 16;
  static constexpr size_t kTokenMacBytes = 16;
  static constexpr int64_t kChallengeTtlSeconds = 60;
  // Long enough to cover a field deployment between syncs; past it, a device pays one
  // Challenge round trip. It bounds only how long a copied vault's nonce stays usable,
  // and that nonce is useless without the device's signing key from the same vault.
  static constexpr int64_t kNextNonceTtlSeconds = 30 * 24 * 3600;
  static constexpr int64_t kSessionTtlSeconds = 15 * 60;
  static constexpr size_t kMaxUsedChallengesPerDevice = 64;

  // Neither owned; both must outlive this.
  SessionAuthority(Registry* registry, const Clock* clock);

  // A fresh nonce for `device_id` (untrusted; not looked up, so this is no oracle of
  // which devices exist; stores nothing). kInvalidArgument on a malformed id.
  absl::StatusOr<std::string> IssueChallenge(absl::string_view device_id);

  // Checks the signature over the nonce (a challenge, or the device's pre-issued next
  // nonce) and issues a token. All inputs untrusted. kUnauthenticated "authentication
  // failed" for an unknown, expired or reused nonce, another device's nonce, a wrong
  // signature or an unknown device; kResourceExhausted when this device used more than
  // kMaxUsedChallengesPerDevice challenges within their lifetime; kPermissionDenied "device has
  // been revoked" for a revoked one, and only once its signature has checked (the RPC layer relies
  // on this to hand the wipe order to that device alone). A pre-issued nonce is consumed
  // atomically: of two sign-ins with one nonce, exactly one succeeds.
  // With `next_nonce`, it gets the device's next nonce (replacing the one stored), or
  // is left empty when that could not be stored (the sign-in still succeeds).
  absl::StatusOr<std::string> Authenticate(absl::string_view device_id, absl::string_view nonce,
                                           absl::string_view signature,
                                           std::string* next_nonce = nullptr);

  // Authenticate without a token: the same checks, errors and nonce handling (a
  // pre-issued nonce is consumed, `next_nonce` issued), but no session token exists
  // afterwards. Returns the device as it is now, for the settings that ride on sign-in.
  absl::StatusOr<Session> AuthenticateWithoutSession(absl::string_view device_id,
                                                     absl::string_view nonce,
                                                     absl::string_view signature,
                                                     std::string* next_nonce = nullptr);

  // `token` untrusted. kUnauthenticated "session token is not valid" or "session has
  // expired; sign in again"; kPermissionDenied "device has been revoked".
  absl::StatusOr<Session> Verify(absl::string_view token);

  // The device id a token names if its MAC and expiry check, without reading the
  // store (so not whether the device was revoked since): cheap enough to run on every
  // call before anything else, to count and rate-limit calls per device. Errors as
  // Verify's.
  absl::StatusOr<std::string> DeviceOfToken(absl::string_view token) const;

  // The device a sign-in names when that device exists and its signature over `nonce`
  // checks, revoked or not; the nonce itself is neither checked nor consumed
  // (Authenticate does both). One point read and one signature check, like a token's
  // check cheap enough to refuse a forged sign-in before any handler runs. All inputs
  // untrusted; kUnauthenticated "authentication failed" otherwise.
  absl::StatusOr<std::string> DeviceOfSignIn(absl::string_view device_id, absl::string_view nonce,
                                             absl::string_view signature);

  // Tokens issued that have not yet expired. A session is never closed, only left to
  // lapse, so this is an upper bound on devices that may be calling. Kept as a queue of
  // expiry times only (no device id), one per sign-in of the last kSessionTtlSeconds.
  size_t OpenSessions();

  // Not owned; must outlive this. Set before the first call (not synchronised).
  void set_metrics(Metrics* metrics) { metrics_ = metrics; }

 private:
  struct UsedChallenge {
    std::string device_id;
    int64_t expires_at;
  };
  // Under mu_: forgets used challenges past their expiry (they fail on expiry anyway).
  void DropExpiredLocked(int64_t now);
  std::string ChallengeMac(absl::string_view device_id, absl::string_view random_and_expiry) const;
  // The challenge's expiry when `nonce` is a challenge this process issued for
  // `device_id`; std::nullopt otherwise (perhaps a pre-issued nonce).
  std::optional<int64_t> ChallengeExpiry(absl::string_view device_id,
                                         absl::string_view nonce) const;
  // Marks a verified challenge used: kUnauthenticated when it was already,
  // kResourceExhausted when the device is over kMaxUsedChallengesPerDevice.
  absl::Status MarkChallengeUsed(absl::string_view device_id, absl::string_view nonce,
                                 int64_t expires_at, int64_t now);
  // The Store::CommitLocked lock under which a device's pre-issued nonce is checked and
  // replaced, by every front-end of the store.
  static std::string NonceLock(absl::string_view device_id);
  // A new next nonce stored for `device_id` (under NonceLock), or the store's error.
  absl::StatusOr<std::string> IssueNextNonce(absl::string_view device_id, int64_t now);
  // Every check of Authenticate; the authenticated (not revoked) device.
  absl::StatusOr<v1::StoredDevice> AuthenticateDevice(absl::string_view device_id,
                                                      absl::string_view nonce,
                                                      absl::string_view signature, int64_t now,
                                                      std::string* next_nonce);
  absl::StatusOr<v1::StoredDevice> AuthenticatePreIssued(absl::string_view device_id,
                                                         absl::string_view nonce,
                                                         absl::string_view signature, int64_t now,
                                                         std::string* next_nonce);
  std::string IssueToken(absl::string_view device_id, int64_t now);
  std::string TokenMac(absl::string_view body) const;

  Registry* const registry_;
  const Clock* const clock_;
  const crypto::SecretBuffer mac_key_;
  std::mutex mu_;
  std::map<std::string, UsedChallenge> used_challenges_;  // by nonce
  std::map<std::string, size_t> used_per_device_;
  std::deque<int64_t> token_expiries_;  // under mu_; in issue order, so in expiry order
  Metrics* metrics_ = &NoMetrics();
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_CORE_SESSIONS_H_
