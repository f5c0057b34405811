#ifndef TEMOIN_CLIENT_CORE_WIPE_ORDER_H_
#define TEMOIN_CLIENT_CORE_WIPE_ORDER_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "crypto/keys.h"
#include "temoin/v1/identity.pb.h"

namespace temoin::client {

inline constexpr absl::string_view kWipeOrderContext = "temoin/wipe-order/v1";

// Made on the admin's device at revoke time: device id, time to the minute, a random
// serial, signed with the organisation key.
v1::WipeOrder SignWipeOrder(const crypto::SigningKey& org_key, absl::string_view device_id,
                            int64_t now);

// `order_bytes` (a serialized WipeOrder) is untrusted, from the server. OK only when it
// is signed by `org_public_key` (the device's pinned key) and names `device_id`;
// kUnauthenticated "wipe order is not valid for this device" otherwise.
absl::Status VerifyWipeOrder(absl::string_view order_bytes, absl::string_view org_public_key,
                             absl::string_view device_id);

// What a revoked device does with a wipe order from the server (untrusted): when it
// verifies (VerifyWipeOrder), crypto-shreds the vault under `home` (WipeVault; the vault
// must be closed) and returns true; otherwise returns false and touches nothing, because
// a server alone must never be able to make a device destroy its records. kInternal only
// when a valid order could not be carried out.
absl::StatusOr<bool> ObeyIfValid(const std::string& home, absl::string_view order_bytes,
                                 absl::string_view org_public_key, absl::string_view device_id);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_CORE_WIPE_ORDER_H_
