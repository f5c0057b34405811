#include "client/vault/cover_file.h"

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "crypto/keys.h"

namespace temoin::client {
namespace {

constexpr size_t kLengthBytes = 4;
constexpr size_t kSealOverhead = 48;  // crypto_box_SEALBYTES: ephemeral key and tag
constexpr size_t kPlainBytes = kCoverFileBytes - kSealOverhead;

}  // namespace

std::string CoverFilePath(const std::string& home) { return home + "/vault.cover"; }

size_t CoverCapacity() { return kPlainBytes - kLengthBytes; }

absl::StatusOr<std::string> SealCover(const v1::CoverEnrolment& enrolment,
                                      absl::string_view public_key) {
  const size_t size = enrolment.ByteSizeLong();
  if (size > CoverCapacity()) {
    return absl::ResourceExhaustedError("the enrolment does not fit in vault.cover");
  }
  // Zero padding: the box hides it, and a fixed plaintext size gives a fixed file size.
  std::string plain(kPlainBytes, '\0');
  for (size_t i = 0; i < kLengthBytes; ++i) plain[i] = static_cast<char>((size >> (8 * i)) & 0xff);
  if (!enrolment.SerializeToArray(plain.data() + kLengthBytes, static_cast<int>(size))) {
    crypto::WipeString(plain);
    return absl::InternalError("cannot serialise the cover enrolment");
  }
  absl::StatusOr<std::string> sealed = crypto::SealToPublicKey(plain, public_key);
  crypto::WipeString(plain);
  return sealed;
}

std::string RandomCover() { return crypto::RandomBytes(kCoverFileBytes); }

absl::StatusOr<v1::CoverEnrolment> OpenCover(absl::string_view cover,
                                             const crypto::SecretBuffer& secret_key) {
  if (cover.size() != kCoverFileBytes) return absl::UnauthenticatedError("authentication failed");
  TEMOIN_ASSIGN_OR_RETURN(
      crypto::BoxKeyPair pair,
      crypto::BoxKeyPair::FromSecretKey(
          absl::string_view(reinterpret_cast<const char*>(secret_key.data()), secret_key.size())));
  TEMOIN_ASSIGN_OR_RETURN(crypto::SecretBuffer plain, crypto::OpenSealed(cover, pair));
  size_t size = 0;
  for (size_t i = 0; i < kLengthBytes; ++i) size |= static_cast<size_t>(plain.data()[i]) << (8 * i);
  v1::CoverEnrolment enrolment;
  if (size > plain.size() - kLengthBytes ||
      !enrolment.ParseFromArray(plain.data() + kLengthBytes, static_cast<int>(size))) {
    return absl::DataLossError("vault.cover is malformed");
  }
  return enrolment;
}

absl::Status WriteCoverFile(const std::string& home, absl::string_view cover) {
  return WriteFileDurably(CoverFilePath(home), cover, 0600);
}

}  // namespace temoin::client
