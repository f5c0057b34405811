// Enrolment codes (common/enrollment_code.h), typed or scanned by a new device: any
// text decodes or is refused, and what decodes encodes back to a code that decodes
// to the same message.
#include <cstddef>
#include <cstdint>

#include "common/enrollment_code.h"
#include "tests/fuzz/fuzz_support.h"

namespace temoin::fuzz {
namespace {

std::vector<std::string> Seeds() {
  v1::EnrollmentCode code;
  code.set_format_version(1);
  code.set_server_address("temoin.example.org:443");
  code.set_tls_spki_sha256(std::string(32, 'p'));
  code.set_role(v1::ROLE_MONITOR);
  code.set_project("alpha");
  code.set_token(std::string(16, 't'));
  code.set_expires_at(1'780'000'000);
  v1::EnrollmentCode admin;
  admin.set_format_version(1);
  admin.set_server_address("192.0.2.10:7443");
  admin.set_tls_spki_sha256(std::string(32, 'q'));
  admin.set_role(v1::ROLE_ADMIN);
  admin.set_token(std::string(16, 'u'));
  code.set_org_public_key(std::string(32, 'o'));
  return {EncodeEnrollmentCode(code), EncodeEnrollmentCode(admin)};
}

}  // namespace
}  // namespace temoin::fuzz

TEMOIN_FUZZ_SEEDS(temoin::fuzz::Seeds)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace temoin;
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<v1::EnrollmentCode> code = DecodeEnrollmentCode(text);
  if (!code.ok()) return 0;
  absl::StatusOr<v1::EnrollmentCode> again = DecodeEnrollmentCode(EncodeEnrollmentCode(*code));
  if (!again.ok() || again->SerializeAsString() != code->SerializeAsString()) __builtin_trap();
  return 0;
}
