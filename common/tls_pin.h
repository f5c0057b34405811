#ifndef TEMOIN_COMMON_TLS_PIN_H_
#define TEMOIN_COMMON_TLS_PIN_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace temoin {

// SHA-256 of the DER SubjectPublicKeyInfo of the first certificate in `pem`: the pin
// that enrolment codes carry. `pem` untrusted. kInvalidArgument when it does not parse.
absl::StatusOr<std::string> SpkiSha256FromPem(absl::string_view pem);

}  // namespace temoin

#endif  // TEMOIN_COMMON_TLS_PIN_H_
