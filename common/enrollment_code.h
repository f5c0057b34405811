#ifndef TEMOIN_COMMON_ENROLLMENT_CODE_H_
#define TEMOIN_COMMON_ENROLLMENT_CODE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "temoin/v1/identity.pb.h"

namespace temoin {

inline constexpr absl::string_view kEnrollmentCodePrefix = "temoin1:";

// "temoin1:" + base64url(EnrollmentCode). One line, safe to paste or put in a QR code.
std::string EncodeEnrollmentCode(const v1::EnrollmentCode& code);

// `text` untrusted (surrounding white space is ignored). kInvalidArgument
// "enrolment code is malformed" when the prefix, encoding or any field is wrong.
absl::StatusOr<v1::EnrollmentCode> DecodeEnrollmentCode(absl::string_view text);

}  // namespace temoin

#endif  // TEMOIN_COMMON_ENROLLMENT_CODE_H_
