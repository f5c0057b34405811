#include "common/enrollment_code.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/encoding.h"

namespace temoin {

std::string EncodeEnrollmentCode(const v1::EnrollmentCode& code) {
  return absl::StrCat(kEnrollmentCodePrefix, ToBase64Url(code.SerializeAsString()));
}

absl::StatusOr<v1::EnrollmentCode> DecodeEnrollmentCode(absl::string_view text) {
  const absl::Status malformed = absl::InvalidArgumentError("enrolment code is malformed");
  text = absl::StripAsciiWhitespace(text);
  if (!absl::StartsWith(text, kEnrollmentCodePrefix) || text.size() > 4096) return malformed;
  absl::StatusOr<std::string> bytes =
      FromBase64Url(text.substr(kEnrollmentCodePrefix.size()), "enrolment code");
  if (!bytes.ok()) return malformed;
  v1::EnrollmentCode code;
  if (!code.ParseFromString(*bytes) || code.format_version() != 1 || code.token().size() != 16 ||
      code.tls_spki_sha256().size() != 32 || code.server_address().empty() ||
      (!code.org_public_key().empty() && code.org_public_key().size() != 32) ||
      code.role() == v1::ROLE_UNSPECIFIED) {
    return malformed;
  }
  return code;
}

}  // namespace temoin
