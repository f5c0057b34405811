#include "client/core/wipe_order.h"

#include <cstdint>
#include <cstring>

#include "client/vault/vault_wipe.h"
#include "common/status_macros.h"

namespace temoin::client {

v1::WipeOrder SignWipeOrder(const crypto::SigningKey& org_key, absl::string_view device_id,
                            int64_t now) {
  v1::WipeOrderBody body;
  body.set_device_id(std::string(device_id));
  body.set_issued_at(now - now % 60);
  uint64_t serial = 0;
  std::string random = crypto::RandomBytes(sizeof(serial));
  std::memcpy(&serial, random.data(), sizeof(serial));
  body.set_serial(serial);
  v1::WipeOrder order;
  order.set_body(body.SerializeAsString());
  order.set_org_signature(org_key.Sign(kWipeOrderContext, order.body()));
  return order;
}

absl::Status VerifyWipeOrder(absl::string_view order_bytes, absl::string_view org_public_key,
                             absl::string_view device_id) {
  const absl::Status invalid =
      absl::UnauthenticatedError("wipe order is not valid for this device");
  v1::WipeOrder order;
  v1::WipeOrderBody body;
  if (!order.ParseFromArray(order_bytes.data(), static_cast<int>(order_bytes.size())) ||
      !body.ParseFromString(order.body()) || body.device_id() != device_id) {
    return invalid;
  }
  if (!crypto::VerifySignature(org_public_key, kWipeOrderContext, order.body(),
                               order.org_signature())
           .ok()) {
    return invalid;
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> ObeyIfValid(const std::string& home, absl::string_view order_bytes,
                                 absl::string_view org_public_key, absl::string_view device_id) {
  if (!VerifyWipeOrder(order_bytes, org_public_key, device_id).ok()) return false;
  TEMOIN_RETURN_IF_ERROR(WipeVault(home));
  return true;
}

}  // namespace temoin::client
