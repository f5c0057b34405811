#include "crypto/server_keys.h"

#include <sodium.h>

#include <algorithm>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "crypto/checkpoint.h"
#include "crypto/keys.h"

namespace temoin::crypto {
namespace {

constexpr int64_t kHour = 3600;

std::string Decimal(int64_t value) { return absl::StrCat(value); }

// A decimal as FormatServerKeys writes it: digits only, no leading zero.
bool ParseDecimal(absl::string_view text, int64_t& out) {
  if (text.empty() || text.size() > 18 || (text.size() > 1 && text[0] == '0') ||
      !std::all_of(text.begin(), text.end(), absl::ascii_isdigit)) {
    return false;
  }
  return absl::SimpleAtoi(text, &out);
}

absl::Status CheckKeyList(const std::vector<CertifiedKey>& keys, absl::string_view what,
                          bool receipt) {
  if (keys.empty()) return absl::InvalidArgumentError(absl::StrCat("no ", what, " key"));
  std::set<std::string> seen;
  for (const CertifiedKey& key : keys) {
    if (!seen.insert(key.key).second) {
      return absl::InvalidArgumentError(absl::StrCat("a ", what, " key is listed twice"));
    }
    const bool well_formed =
        receipt ? key.key.size() == kSigningPublicKeyBytes
                : ParseVkey(key.key).ok() &&
                      std::none_of(key.key.begin(), key.key.end(), absl::ascii_isspace);
    if (!well_formed) {
      return absl::InvalidArgumentError(absl::StrCat("a ", what, " key is malformed"));
    }
    if (key.from < 0 || (key.until.has_value() && *key.until < key.from)) {
      return absl::InvalidArgumentError(absl::StrCat("a ", what, " key ends before it begins"));
    }
  }
  return absl::OkStatus();
}

std::string KeyLine(absl::string_view kind, absl::string_view key_text, const CertifiedKey& key) {
  return absl::StrCat(kind, " ", key_text, " ", Decimal(key.from), " ",
                      key.until.has_value() ? Decimal(*key.until) : "-", "\n");
}

absl::Status Malformed(absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("server-key statement: ", why));
}

}  // namespace

bool CertifiedKey::CoversHour(int64_t hour) const {
  return hour + kHour > from && (!until.has_value() || hour < *until);
}

const CertifiedKey* ServerKeys::FindReceiptKey(absl::string_view public_key) const {
  for (const CertifiedKey& key : receipt_keys) {
    if (key.key == public_key) return &key;
  }
  return nullptr;
}

const CertifiedKey* ServerKeys::FindLogKey(absl::string_view vkey) const {
  for (const CertifiedKey& key : log_keys) {
    if (key.key == vkey) return &key;
  }
  return nullptr;
}

absl::StatusOr<std::string> FormatServerKeys(const ServerKeys& keys) {
  TEMOIN_RETURN_IF_ERROR(CheckKeyList(keys.receipt_keys, "receipt", /*receipt=*/true));
  TEMOIN_RETURN_IF_ERROR(CheckKeyList(keys.log_keys, "log", /*receipt=*/false));
  if (keys.issued < 0) return Malformed("negative issue time");
  std::string body = absl::StrCat(kServerKeysHeader, "\nissued ", Decimal(keys.issued), "\n");
  for (const CertifiedKey& key : keys.receipt_keys) {
    absl::StrAppend(&body, KeyLine("receipt", ToHex(key.key), key));
  }
  for (const CertifiedKey& key : keys.log_keys)
    absl::StrAppend(&body, KeyLine("log", key.key, key));
  return body;
}

absl::StatusOr<ServerKeys> ParseServerKeys(absl::string_view body) {
  if (body.size() > 64 * 1024) return Malformed("too large");
  if (body.empty() || body.back() != '\n') return Malformed("does not end in a newline");
  std::vector<absl::string_view> lines = absl::StrSplit(body.substr(0, body.size() - 1), '\n');
  if (lines.size() < 4 || lines[0] != kServerKeysHeader) return Malformed("wrong header");
  ServerKeys keys;
  if (!absl::ConsumePrefix(&lines[1], "issued ") || !ParseDecimal(lines[1], keys.issued)) {
    return Malformed("no issue time");
  }
  for (size_t i = 2; i < lines.size(); ++i) {
    std::vector<absl::string_view> fields = absl::StrSplit(lines[i], ' ');
    if (fields.size() != 4) return Malformed(absl::StrCat("line ", i + 1, " has not 4 fields"));
    CertifiedKey key;
    int64_t until = 0;
    if (!ParseDecimal(fields[2], key.from)) return Malformed("a key has no valid start");
    if (fields[3] != "-") {
      if (!ParseDecimal(fields[3], until)) return Malformed("a key has no valid end");
      key.until = until;
    }
    if (fields[0] == "receipt") {
      if (!keys.log_keys.empty()) return Malformed("a receipt key after the log keys");
      absl::StatusOr<std::string> raw = FromHex(fields[1], "receipt key");
      if (!raw.ok()) return Malformed("a receipt key is not hex");
      key.key = *std::move(raw);
      keys.receipt_keys.push_back(std::move(key));
    } else if (fields[0] == "log") {
      key.key = std::string(fields[1]);
      keys.log_keys.push_back(std::move(key));
    } else {
      return Malformed(absl::StrCat("unknown line kind \"", fields[0], "\""));
    }
  }
  // Canonical: exactly the bytes the writer makes (lower-case hex, the checks above).
  absl::StatusOr<std::string> canonical = FormatServerKeys(keys);
  if (!canonical.ok()) return Malformed(canonical.status().message());
  if (*canonical != body) return Malformed("not in canonical form");
  return keys;
}

absl::StatusOr<ServerKeys> VerifyServerKeys(absl::string_view body, absl::string_view signature,
                                            absl::string_view org_public_key) {
  if (!VerifySignature(org_public_key, kServerKeysContext, body, signature).ok()) {
    return absl::UnauthenticatedError(
        "the server-key statement is not signed by the organisation key");
  }
  return ParseServerKeys(body);
}

std::string KeyFingerprint(absl::string_view key) {
  unsigned char hash[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(hash, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  const std::string hex = ToHex(absl::string_view(reinterpret_cast<char*>(hash), 8));
  return absl::StrCat(hex.substr(0, 4), " ", hex.substr(4, 4), " ", hex.substr(8, 4), " ",
                      hex.substr(12, 4));
}

}  // namespace temoin::crypto
