#include "crypto/checkpoint.h"

#include <sodium.h>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status_macros.h"
#include "crypto/merkle.h"

namespace temoin::crypto {
namespace {

constexpr unsigned char kEd25519Type = 0x01;
constexpr absl::string_view kSignaturePrefix = "\xe2\x80\x94 ";  // U+2014 em dash, space
// Far above a checkpoint with a few cosignatures; a bigger note is refused unread.
constexpr size_t kMaxNoteBytes = 16 * 1024;

std::string Sha256(absl::string_view data) {
  std::string out(crypto_hash_sha256_BYTES, '\0');
  crypto_hash_sha256(reinterpret_cast<unsigned char*>(out.data()),
                     reinterpret_cast<const unsigned char*>(data.data()), data.size());
  return out;
}

bool IsCleanLine(absl::string_view line) {
  if (line.empty()) return false;
  for (char c : line) {
    if (static_cast<unsigned char>(c) < 0x20) return false;
  }
  return true;
}

bool IsKeyName(absl::string_view name) {
  return IsCleanLine(name) && name.find(' ') == absl::string_view::npos &&
         name.find('+') == absl::string_view::npos;
}

std::string BigEndian32(uint32_t v) {
  return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 8), static_cast<char>(v)};
}

absl::StatusOr<Checkpoint> ParseCheckpointText(absl::string_view text) {
  std::vector<absl::string_view> lines = absl::StrSplit(text, '\n');
  lines.pop_back();  // the text ends in a newline
  if (lines.size() < 3) return absl::InvalidArgumentError("checkpoint has fewer than 3 lines");
  Checkpoint checkpoint;
  checkpoint.origin = std::string(lines[0]);
  if (lines[1].empty() || (lines[1].size() > 1 && lines[1][0] == '0') ||
      !absl::c_all_of(lines[1], absl::ascii_isdigit) ||
      !absl::SimpleAtoi(lines[1], &checkpoint.size)) {
    return absl::InvalidArgumentError("checkpoint tree size is not a decimal number");
  }
  if (!absl::Base64Unescape(lines[2], &checkpoint.root) ||
      checkpoint.root.size() != merkle::kHashBytes ||
      absl::Base64Escape(checkpoint.root) != lines[2]) {
    return absl::InvalidArgumentError("checkpoint root hash is not base64 of 32 bytes");
  }
  for (size_t i = 3; i < lines.size(); ++i) {
    if (lines[i].empty()) return absl::InvalidArgumentError("checkpoint has an empty line");
    checkpoint.extensions.emplace_back(lines[i]);
  }
  return checkpoint;
}

}  // namespace

std::string AuditExtension(uint64_t audit_size, absl::string_view audit_hash) {
  return absl::StrCat("temoin-audit ", audit_size, " ", absl::Base64Escape(audit_hash));
}

uint32_t NoteKeyId(absl::string_view name, absl::string_view public_key) {
  std::string hash = Sha256(absl::StrCat(name, "\n", std::string(1, kEd25519Type), public_key));
  auto b = [&](int i) { return static_cast<uint32_t>(static_cast<unsigned char>(hash[i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

std::string FormatVkey(absl::string_view name, absl::string_view public_key) {
  return absl::StrCat(name, "+", absl::Hex(NoteKeyId(name, public_key), absl::kZeroPad8), "+",
                      absl::Base64Escape(absl::StrCat(std::string(1, kEd25519Type), public_key)));
}

absl::StatusOr<NoteVerifier> ParseVkey(absl::string_view vkey) {
  // The base64 key may itself hold a '+'.
  std::vector<absl::string_view> parts = absl::StrSplit(vkey, absl::MaxSplits('+', 2));
  if (parts.size() != 3 || !IsKeyName(parts[0]) || parts[1].size() != 8) {
    return absl::InvalidArgumentError("log key is not a vkey (name+keyid+base64 key)");
  }
  NoteVerifier verifier;
  verifier.name = std::string(parts[0]);
  std::string key;
  if (!absl::Base64Unescape(parts[2], &key) ||
      key.size() != 1 + kSigningPublicKeyBytes || key[0] != kEd25519Type) {
    return absl::InvalidArgumentError("log key is not an Ed25519 vkey");
  }
  verifier.public_key = key.substr(1);
  verifier.key_id = NoteKeyId(verifier.name, verifier.public_key);
  if (absl::StrCat(absl::Hex(verifier.key_id, absl::kZeroPad8)) != parts[1]) {
    return absl::InvalidArgumentError("log key's id does not match its name and key");
  }
  return verifier;
}

absl::StatusOr<std::string> CheckpointText(const Checkpoint& checkpoint) {
  if (!IsKeyName(checkpoint.origin)) return absl::InvalidArgumentError("bad checkpoint origin");
  if (checkpoint.root.size() != merkle::kHashBytes) {
    return absl::InvalidArgumentError("checkpoint root must be 32 bytes");
  }
  std::string text = absl::StrCat(checkpoint.origin, "\n", checkpoint.size, "\n",
                                  absl::Base64Escape(checkpoint.root), "\n");
  for (const std::string& line : checkpoint.extensions) {
    if (!IsCleanLine(line)) return absl::InvalidArgumentError("bad checkpoint extension line");
    absl::StrAppend(&text, line, "\n");
  }
  return text;
}

absl::StatusOr<std::string> SignCheckpoint(const Checkpoint& checkpoint, const SigningKey& key) {
  TEMOIN_ASSIGN_OR_RETURN(std::string text, CheckpointText(checkpoint));
  std::string signature(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(signature.data()), nullptr,
                       reinterpret_cast<const unsigned char*>(text.data()), text.size(),
                       key.secret_key().data());
  std::string blob = BigEndian32(NoteKeyId(checkpoint.origin, key.public_key())) + signature;
  return absl::StrCat(text, "\n", kSignaturePrefix, checkpoint.origin, " ",
                      absl::Base64Escape(blob), "\n");
}

absl::StatusOr<std::string> VerifyNote(absl::string_view note, const NoteVerifier& verifier) {
  if (note.size() > kMaxNoteBytes) return absl::InvalidArgumentError("checkpoint note too large");
  if (note.empty() || note.back() != '\n') {
    return absl::InvalidArgumentError("checkpoint note does not end in a newline");
  }
  for (char c : note) {
    if (static_cast<unsigned char>(c) < 0x20 && c != '\n') {
      return absl::InvalidArgumentError("checkpoint note has a control character");
    }
  }
  // The text ends at the last blank line; the signature lines follow it.
  size_t split = note.rfind("\n\n");
  if (split == absl::string_view::npos) {
    return absl::InvalidArgumentError("checkpoint note has no signature");
  }
  absl::string_view text = note.substr(0, split + 1);
  absl::string_view signatures = note.substr(split + 2);
  bool verified = false;
  for (absl::string_view line : absl::StrSplit(signatures, '\n', absl::SkipEmpty())) {
    if (!absl::ConsumePrefix(&line, kSignaturePrefix)) {
      return absl::InvalidArgumentError("checkpoint note has a malformed signature line");
    }
    std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
    std::string blob;
    if (parts.size() != 2 || !absl::Base64Unescape(parts[1], &blob) || blob.size() < 4) {
      return absl::InvalidArgumentError("checkpoint note has a malformed signature line");
    }
    if (parts[0] != verifier.name || blob.substr(0, 4) != BigEndian32(verifier.key_id)) {
      continue;  // another key's signature (a witness): not ours to judge
    }
    if (blob.size() != 4 + crypto_sign_BYTES ||
        crypto_sign_verify_detached(
            reinterpret_cast<const unsigned char*>(blob.data() + 4),
            reinterpret_cast<const unsigned char*>(text.data()), text.size(),
            reinterpret_cast<const unsigned char*>(verifier.public_key.data())) != 0) {
      return absl::UnauthenticatedError("checkpoint signature does not verify");
    }
    verified = true;
  }
  if (!verified) return absl::UnauthenticatedError("checkpoint is not signed by the log key");
  return std::string(text);
}

absl::StatusOr<Checkpoint> VerifyCheckpoint(absl::string_view note, const NoteVerifier& verifier) {
  TEMOIN_ASSIGN_OR_RETURN(std::string text, VerifyNote(note, verifier));
  TEMOIN_ASSIGN_OR_RETURN(Checkpoint checkpoint, ParseCheckpointText(text));
  if (checkpoint.origin != verifier.name) {
    return absl::UnauthenticatedError("checkpoint origin is not the log key's name");
  }
  return checkpoint;
}

}  // namespace temoin::crypto
