#include "client/vault/unlock_counter.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "common/file_util.h"

namespace temoin::client {
namespace {

constexpr absl::string_view kPrefix = "temoin-unlock-attempts ";
constexpr size_t kDigits = 10;  // fixed width: every write covers the same bytes

std::string AttemptsPath(const std::string& home) { return home + "/vault.attempts"; }

}  // namespace

std::optional<uint32_t> ReadUnlockAttempts(const std::string& home) {
  absl::StatusOr<std::string> bytes = ReadFileToString(AttemptsPath(home), 256);
  if (!bytes.ok()) return std::nullopt;
  absl::string_view text(*bytes);
  if (text.size() != kPrefix.size() + kDigits + 1 || text.substr(0, kPrefix.size()) != kPrefix ||
      text.back() != '\n') {
    return std::nullopt;
  }
  uint32_t count = 0;
  if (!absl::SimpleAtoi(text.substr(kPrefix.size(), kDigits), &count)) return std::nullopt;
  return count;
}

absl::Status WriteUnlockAttempts(const std::string& home, uint32_t count) {
  std::string text = absl::StrCat(kPrefix, absl::Dec(count, absl::kZeroPad10), "\n");
  const std::string path = AttemptsPath(home);
  absl::StatusOr<std::string> current = ReadFileToString(path, 256);
  if (current.ok() && current->size() == text.size()) return WriteInPlaceDurably(path, 0, text);
  // Missing, or not of our size (damaged): a new file. Its old bytes are only a count.
  return WriteFileDurably(path, text, 0600);
}

}  // namespace temoin::client
