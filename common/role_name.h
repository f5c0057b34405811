#ifndef TEMOIN_COMMON_ROLE_NAME_H_
#define TEMOIN_COMMON_ROLE_NAME_H_

#include "temoin/v1/identity.pb.h"

namespace temoin {

// "admin", "reviewer", "monitor" (or "unknown"): the words the command line and the
// error messages use for roles.
inline const char* RoleName(v1::Role role) {
  switch (role) {
    case v1::ROLE_ADMIN:
      return "admin";
    case v1::ROLE_REVIEWER:
      return "reviewer";
    case v1::ROLE_MONITOR:
      return "monitor";
    default:
      return "unknown";
  }
}

}  // namespace temoin

#endif  // TEMOIN_COMMON_ROLE_NAME_H_
