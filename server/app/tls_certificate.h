#ifndef TEMOIN_SERVER_APP_TLS_CERTIFICATE_H_
#define TEMOIN_SERVER_APP_TLS_CERTIFICATE_H_

#include <string>

#include "absl/status/statusor.h"

namespace temoin::server {

struct TlsIdentity {
  std::string certificate_pem;
  std::string private_key_pem;  // secret: written 0600, never logged
};

// A fresh ECDSA P-256 key and a self-signed certificate for it (CN and SAN
// "temoin-server", valid 20 years). Devices pin its key (SPKI SHA-256), so the name,
// the dates and any CA are irrelevant to trust; the long validity avoids a flag day.
absl::StatusOr<TlsIdentity> GenerateSelfSignedIdentity();

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_APP_TLS_CERTIFICATE_H_
