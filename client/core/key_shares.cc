#include "client/core/key_shares.h"

#include <sodium.h>

extern "C" {
#include <libgfshare.h>
}

#include <cstring>
#include <map>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/encoding.h"
#include "common/status_macros.h"

namespace temoin::client {
namespace {

constexpr absl::string_view kMagic = "temoin-org-key-share v1";
constexpr size_t kSecretBytes = crypto::kSigningSecretKeyBytes;

// libgfshare's default random source is random(); the coefficients must come from the
// system CSPRNG.
void FillRandom(unsigned char* buffer, unsigned int size) { randombytes_buf(buffer, size); }

struct CtxDeleter {
  void operator()(gfshare_ctx* ctx) const { gfshare_ctx_free(ctx); }
};
using Ctx = std::unique_ptr<gfshare_ctx, CtxDeleter>;

std::string Checksum(absl::string_view body) {
  return ToHex(crypto::Hash256("temoin/org-key-share/v1", body).substr(0, 16));
}

struct Share {
  std::string org_public_key;
  int threshold = 0;
  int index = 0;
  std::string bytes;
};

absl::StatusOr<Share> ParseShare(absl::string_view text, size_t position) {
  std::string label = absl::StrCat("share ", position);
  std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  auto damaged = [&] {
    return absl::DataLossError(absl::StrCat(label, " is damaged or not a share file"));
  };
  if (lines.size() != 6 || lines[0] != kMagic) return damaged();
  std::string body =
      absl::StrCat(lines[0], "\n", lines[1], "\n", lines[2], "\n", lines[3], "\n", lines[4], "\n");
  std::vector<std::string> check = absl::StrSplit(lines[5], ' ');
  if (check.size() != 2 || check[0] != "checksum") return damaged();
  if (check[1] != Checksum(body)) {
    return absl::DataLossError(absl::StrCat(label, " is damaged (checksum mismatch)"));
  }
  std::map<std::string, std::string> fields;
  for (int i = 1; i <= 4; ++i) {
    std::vector<std::string> kv = absl::StrSplit(lines[i], absl::MaxSplits(' ', 1));
    if (kv.size() != 2) return damaged();
    fields[kv[0]] = kv[1];
  }
  Share share;
  absl::StatusOr<std::string> pk = FromHex(fields["org-public-key"], "org-public-key");
  absl::StatusOr<std::string> bytes = FromHex(fields["share"], "share");
  if (!pk.ok() || !bytes.ok() || !absl::SimpleAtoi(fields["threshold"], &share.threshold) ||
      !absl::SimpleAtoi(fields["index"], &share.index) || share.index < 1 || share.index > 255 ||
      bytes->size() != kSecretBytes) {
    return damaged();
  }
  share.org_public_key = *pk;
  share.bytes = *bytes;
  return share;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> SplitOrgKey(const crypto::SigningKey& org_key, int shares,
                                                     int threshold) {
  if (threshold < 2 || shares < threshold || shares > 255) {
    return absl::InvalidArgumentError(
        "--threshold must be at least 2 and at most --shares (<= 255)");
  }
  gfshare_fill_rand = FillRandom;
  std::vector<unsigned char> numbers(static_cast<size_t>(shares));
  for (int i = 0; i < shares; ++i)
    numbers[static_cast<size_t>(i)] = static_cast<unsigned char>(i + 1);
  Ctx ctx(gfshare_ctx_init_enc(numbers.data(), static_cast<unsigned>(shares),
                               static_cast<unsigned char>(threshold), kSecretBytes));
  if (!ctx) return absl::InternalError("cannot set up key splitting");
  crypto::SecretBuffer secret = crypto::SecretBuffer::Random(kSecretBytes);
  std::memcpy(secret.data(), org_key.secret_key().data(), kSecretBytes);
  gfshare_ctx_enc_setsecret(ctx.get(), secret.data());
  std::vector<std::string> files;
  std::string share(kSecretBytes, '\0');
  for (int i = 0; i < shares; ++i) {
    gfshare_ctx_enc_getshare(ctx.get(), static_cast<unsigned char>(i),
                             reinterpret_cast<unsigned char*>(share.data()));
    std::string body = absl::StrCat(kMagic, "\n", "org-public-key ", ToHex(org_key.public_key()),
                                    "\n", "threshold ", threshold, "\n", "index ", i + 1, "\n",
                                    "share ", ToHex(share), "\n");
    files.push_back(absl::StrCat(body, "checksum ", Checksum(body), "\n"));
  }
  crypto::WipeString(share);
  return files;
}

absl::StatusOr<crypto::SigningKey> RecoverOrgKey(const std::vector<std::string>& share_files,
                                                 absl::string_view expected_public_key) {
  if (share_files.empty()) return absl::InvalidArgumentError("give at least one share file");
  std::vector<Share> shares;
  for (size_t i = 0; i < share_files.size(); ++i) {
    TEMOIN_ASSIGN_OR_RETURN(Share share, ParseShare(share_files[i], i + 1));
    for (const Share& other : shares) {
      if (other.org_public_key != share.org_public_key || other.threshold != share.threshold) {
        return absl::InvalidArgumentError("shares belong to different organisation keys");
      }
      if (other.index == share.index)
        return absl::InvalidArgumentError("two shares have the same index");
    }
    shares.push_back(std::move(share));
  }
  const Share& first = shares.front();
  if (static_cast<int>(shares.size()) < first.threshold) {
    return absl::FailedPreconditionError(
        absl::StrCat("too few shares: need ", first.threshold, ", have ", shares.size()));
  }
  if (!expected_public_key.empty() && expected_public_key != first.org_public_key) {
    return absl::UnauthenticatedError("these shares are for another organisation key");
  }
  gfshare_fill_rand = FillRandom;  // Debian's libgfshare leaves it unset; init_dec calls it
  std::vector<unsigned char> numbers;
  for (const Share& share : shares) numbers.push_back(static_cast<unsigned char>(share.index));
  Ctx ctx(
      gfshare_ctx_init_dec(numbers.data(), static_cast<unsigned>(numbers.size()), kSecretBytes));
  if (!ctx) return absl::InternalError("cannot set up key recovery");
  for (size_t i = 0; i < shares.size(); ++i) {
    gfshare_ctx_dec_giveshare(ctx.get(), static_cast<unsigned char>(i),
                              reinterpret_cast<unsigned char*>(shares[i].bytes.data()));
  }
  crypto::SecretBuffer secret = crypto::SecretBuffer::Random(kSecretBytes);
  gfshare_ctx_dec_extract(ctx.get(), secret.data());
  for (Share& share : shares) crypto::WipeString(share.bytes);
  absl::StatusOr<crypto::SigningKey> key = crypto::SigningKey::FromSecretKey(
      absl::string_view(reinterpret_cast<const char*>(secret.data()), kSecretBytes));
  if (!key.ok() || key->public_key() != first.org_public_key) {
    return absl::UnauthenticatedError(
        "the rebuilt key does not match the organisation's public key (a share is wrong)");
  }
  return key;
}

}  // namespace temoin::client
