#ifndef TEMOIN_SERVER_CORE_SESSION_H_
#define TEMOIN_SERVER_CORE_SESSION_H_

#include <string>

#include "temoin/v1/server_store.pb.h"

namespace temoin::server {

// Who is calling, as established by the session token and the device registry at the
// moment of the call. Handlers take device, role and project only from here, never
// from request fields.
struct Session {
  v1::StoredDevice device;
  const std::string& device_id() const { return device.device_id(); }
  v1::Role role() const { return device.role(); }
};

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_CORE_SESSION_H_
