#ifndef TEMOIN_SERVER_APP_TLS_CERTIFICATE_H_
#define TEMOIN_SERVER_APP_TLS_CERTIFICATE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace temoin::server {

struct TlsIdentity {
  std::string certificate_pem;
  std::string private_key_pem;  // secret: written 0600, never logged
};

// A fresh ECDSA P-256 key and a self-signed X.509 v1 certificate for it (CN "temoin-server",
// no extensions, valid 20 years). Devices pin its key (SPKI SHA-256), so the name,
// the dates and any CA are irrelevant to trust; the long validity avoids a flag day.
absl::StatusOr<TlsIdentity> GenerateSelfSignedIdentity();

// Makes every TLS context created afterwards in this process send no TLS 1.3 session
// tickets (OpenSSL's ssl_conf "system_default", which gRPC's contexts pick up). Devices
// run one command per process and never resume a session, and the two tickets OpenSSL
// sends by default were ~510 B of a ~3.6 KB no-op sync. Call before the server starts.
absl::Status DisableTlsSessionTickets();

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_APP_TLS_CERTIFICATE_H_
