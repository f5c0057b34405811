#ifndef TEMOIN_CRYPTO_AUTH_H_
#define TEMOIN_CRYPTO_AUTH_H_

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "crypto/keys.h"

// What a device signs to enrol and to open a session. Both sides build the signed
// bytes from these functions so they cannot disagree. Fields are fixed-size (checked
// by the caller) except org_public_key, which is last and 0 or 32 bytes.
namespace temoin::crypto {

inline constexpr absl::string_view kEnrollContext = "temoin/enroll/v1";
inline constexpr absl::string_view kAuthContext = "temoin/auth/v1";
inline constexpr size_t kChallengeBytes = 32;
inline constexpr size_t kEnrollmentTokenBytes = 16;

inline std::string EnrollProofMessage(absl::string_view token, absl::string_view signing_public_key,
                                      absl::string_view box_public_key,
                                      absl::string_view org_public_key) {
  return absl::StrCat(token, signing_public_key, box_public_key, org_public_key);
}

// The nonce is fresh from the server and single use, so a captured signature cannot
// be replayed; no device clock is involved.
inline std::string AuthChallengeMessage(absl::string_view nonce, absl::string_view device_id) {
  return absl::StrCat(nonce, device_id);
}

// A device's id is derived from its two public keys, so it is self-certifying: an
// admin who got the id from the reviewer in person can check that the keys the server
// lists for it are really the reviewer's (a server cannot swap in a key of its own
// when a project secret is granted). 16 bytes.
inline std::string DeviceIdFromKeys(absl::string_view signing_public_key,
                                    absl::string_view box_public_key) {
  return Hash256("temoin/device-id/v1", absl::StrCat(signing_public_key, box_public_key))
      .substr(0, 16);
}

// Issue 12: the silent duress signal every sign-in carries (AuthenticateRequest.
// duress_signal): crypto_box_seal(flag || 15 bytes binding the nonce, server bundle
// key), 64 bytes whatever the flag, so neither its size nor its presence tells a
// watcher of the device or of the wire anything. Bound to the sign-in's nonce, so a
// signal seen once cannot be replayed into another sign-in.
inline constexpr size_t kDuressSignalBytes = 64;

inline std::string DuressSignalBinding(absl::string_view nonce) {
  return Hash256("temoin/duress-signal/v1", nonce).substr(0, 15);
}

// Random bytes of the same size when `bundle_public_key` is not a usable key (a device
// that has not yet learnt it): the server then reads no signal, and nothing looks
// different.
inline std::string SealDuressSignal(bool under_duress, absl::string_view nonce,
                                    absl::string_view bundle_public_key) {
  std::string plain(1, under_duress ? '\x01' : '\x00');
  plain += DuressSignalBinding(nonce);
  absl::StatusOr<std::string> sealed = SealToPublicKey(plain, bundle_public_key);
  if (!sealed.ok() || sealed->size() != kDuressSignalBytes) return RandomBytes(kDuressSignalBytes);
  return *sealed;
}

// `sealed` is untrusted: true only when it opens with `bundle`, is bound to `nonce` and
// its flag is 1. Anything else (absent, random, another nonce) is no signal.
inline bool OpenDuressSignal(absl::string_view sealed, absl::string_view nonce,
                             const BoxKeyPair& bundle) {
  if (sealed.size() != kDuressSignalBytes) return false;
  absl::StatusOr<SecretBuffer> plain = OpenSealed(sealed, bundle);
  if (!plain.ok() || plain->size() != 16) return false;
  absl::string_view view(reinterpret_cast<const char*>(plain->data()), plain->size());
  return view[0] == '\x01' && view.substr(1) == DuressSignalBinding(nonce);
}

}  // namespace temoin::crypto

#endif  // TEMOIN_CRYPTO_AUTH_H_
