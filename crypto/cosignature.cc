#include "crypto/cosignature.h"

#include <sodium.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"

namespace temoin::crypto {
namespace {

constexpr absl::string_view kSignaturePrefix = "\xe2\x80\x94 ";  // U+2014 em dash, space
constexpr size_t kBlobBytes = 4 + 8 + crypto_sign_BYTES;
constexpr uint64_t kMaxTimestamp = (uint64_t{1} << 63) - 1;

const unsigned char* Bytes(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::string BigEndian(uint64_t v, int bytes) {
  std::string out(bytes, '\0');
  for (int i = bytes - 1; i >= 0; --i, v >>= 8) out[i] = static_cast<char>(v & 0xff);
  return out;
}

uint64_t ReadBigEndian(absl::string_view bytes) {
  uint64_t v = 0;
  for (char c : bytes) v = v << 8 | static_cast<unsigned char>(c);
  return v;
}

bool IsKeyName(absl::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == '+') return false;
  }
  return true;
}

}  // namespace

uint32_t CosignerKeyId(absl::string_view name, absl::string_view public_key) {
  std::string input = absl::StrCat(name, "\n", std::string(1, kCosignatureV1Type), public_key);
  unsigned char hash[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(hash, Bytes(input), input.size());
  return static_cast<uint32_t>(
      ReadBigEndian(absl::string_view(reinterpret_cast<const char*>(hash), 4)));
}

std::string FormatCosignerVkey(absl::string_view name, absl::string_view public_key) {
  return absl::StrCat(
      name, "+", absl::Hex(CosignerKeyId(name, public_key), absl::kZeroPad8), "+",
      absl::Base64Escape(absl::StrCat(std::string(1, kCosignatureV1Type), public_key)));
}

absl::StatusOr<CosignerVerifier> ParseCosignerVkey(absl::string_view vkey) {
  // The base64 key may itself hold a '+'.
  std::vector<absl::string_view> parts = absl::StrSplit(vkey, absl::MaxSplits('+', 2));
  if (parts.size() != 3 || !IsKeyName(parts[0]) || parts[1].size() != 8) {
    return absl::InvalidArgumentError("witness key is not a vkey (name+keyid+base64 key)");
  }
  std::string key;
  if (!absl::Base64Unescape(parts[2], &key) || key.size() != 1 + kSigningPublicKeyBytes ||
      static_cast<unsigned char>(key[0]) != kCosignatureV1Type) {
    return absl::InvalidArgumentError(
        "witness key is not an Ed25519 cosignature/v1 vkey (type 0x04)");
  }
  CosignerVerifier verifier{std::string(parts[0]), 0, key.substr(1)};
  verifier.key_id = CosignerKeyId(verifier.name, verifier.public_key);
  if (absl::StrCat(absl::Hex(verifier.key_id, absl::kZeroPad8)) != parts[1]) {
    return absl::InvalidArgumentError("witness key's id does not match its name and key");
  }
  return verifier;
}

std::string CosignedMessage(uint64_t timestamp, absl::string_view checkpoint_text) {
  return absl::StrCat("cosignature/v1\ntime ", timestamp, "\n", checkpoint_text);
}

absl::StatusOr<std::string> Cosign(absl::string_view checkpoint_text, absl::string_view name,
                                   const SigningKey& key, uint64_t timestamp) {
  if (!IsKeyName(name)) return absl::InvalidArgumentError("bad cosigner name");
  if (checkpoint_text.empty() || checkpoint_text.back() != '\n') {
    return absl::InvalidArgumentError("checkpoint text does not end in a newline");
  }
  if (timestamp == 0 || timestamp > kMaxTimestamp) {
    return absl::InvalidArgumentError("cosignature timestamp out of range");
  }
  const std::string message = CosignedMessage(timestamp, checkpoint_text);
  std::string signature(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(signature.data()), nullptr, Bytes(message),
                       message.size(), key.secret_key().data());
  const std::string blob = absl::StrCat(BigEndian(CosignerKeyId(name, key.public_key()), 4),
                                        BigEndian(timestamp, 8), signature);
  return absl::StrCat(kSignaturePrefix, name, " ", absl::Base64Escape(blob), "\n");
}

absl::StatusOr<NoteParts> SplitNote(absl::string_view note) {
  if (note.empty() || note.back() != '\n') {
    return absl::InvalidArgumentError("note does not end in a newline");
  }
  const size_t split = note.rfind("\n\n");
  if (split == absl::string_view::npos) return absl::InvalidArgumentError("note has no signature");
  NoteParts parts;
  parts.text = std::string(note.substr(0, split + 1));
  for (absl::string_view line : absl::StrSplit(note.substr(split + 2), '\n', absl::SkipEmpty())) {
    parts.signature_lines.emplace_back(line);
  }
  return parts;
}

absl::StatusOr<std::vector<VerifiedCosignature>> VerifyCosignatures(
    absl::string_view checkpoint_text, absl::Span<const std::string> signature_lines,
    absl::Span<const CosignerVerifier> cosigners) {
  std::vector<VerifiedCosignature> verified;
  for (absl::string_view line : signature_lines) {
    if (!absl::ConsumePrefix(&line, kSignaturePrefix)) continue;  // not a signature: not ours
    std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
    std::string blob;
    if (parts.size() != 2 || !absl::Base64Unescape(parts[1], &blob) || blob.size() < 4) continue;
    for (const CosignerVerifier& cosigner : cosigners) {
      if (parts[0] != cosigner.name || ReadBigEndian(blob.substr(0, 4)) != cosigner.key_id) {
        continue;
      }
      const uint64_t timestamp = blob.size() == kBlobBytes ? ReadBigEndian(blob.substr(4, 8)) : 0;
      const std::string message = CosignedMessage(timestamp, checkpoint_text);
      if (blob.size() != kBlobBytes || timestamp == 0 || timestamp > kMaxTimestamp ||
          crypto_sign_verify_detached(Bytes(absl::string_view(blob).substr(12)), Bytes(message),
                                      message.size(), Bytes(cosigner.public_key)) != 0) {
        return absl::UnauthenticatedError(
            absl::StrCat("cosignature of ", cosigner.name, " does not verify"));
      }
      bool seen = false;
      for (const VerifiedCosignature& v : verified)
        seen = seen || v.name == cosigner.name;  // one key a name
      if (!seen) verified.push_back({cosigner.name, timestamp});
    }
  }
  return verified;
}

}  // namespace temoin::crypto
