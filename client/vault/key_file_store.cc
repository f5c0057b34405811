#include "client/vault/key_file_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "common/status_macros.h"
#include "crypto/keys.h"

namespace temoin::client {
namespace {

constexpr absl::string_view kMagic = "TMVKEY03";
constexpr absl::string_view kChecksumContext = "temoin/vault-key-page/v1";
constexpr size_t kHeaderBytes = 8 + 8 + 4;  // magic, generation, length
constexpr size_t kChecksumBytes = 32;
constexpr size_t kMaxPayloadBytes = kKeyFilePageBytes - kHeaderBytes - kChecksumBytes;

uint64_t LoadLittleEndian(const char* p, int bytes) {
  uint64_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) value = (value << 8) | static_cast<uint8_t>(p[i]);
  return value;
}

void StoreLittleEndian(char* p, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i, value >>= 8) p[i] = static_cast<char>(value & 0xff);
}

absl::Status Damaged() { return absl::DataLossError("vault key file is damaged"); }

struct Page {
  uint64_t generation;
  absl::string_view payload;
};

// A whole record, or nothing: a torn or noisy page fails its checksum.
std::optional<Page> ReadPage(absl::string_view page) {
  if (page.size() != kKeyFilePageBytes || page.substr(0, kMagic.size()) != kMagic) {
    return std::nullopt;
  }
  uint64_t generation = LoadLittleEndian(page.data() + 8, 8);
  uint64_t length = LoadLittleEndian(page.data() + 16, 4);
  if (length > kMaxPayloadBytes) return std::nullopt;
  absl::string_view covered = page.substr(0, kHeaderBytes + length);
  if (crypto::Hash256(kChecksumContext, covered) !=
      page.substr(kHeaderBytes + length, kChecksumBytes)) {
    return std::nullopt;
  }
  return Page{generation, page.substr(kHeaderBytes, length)};
}

uint64_t RandomGeneration() {
  std::string bytes = crypto::RandomBytes(8);
  return LoadLittleEndian(bytes.data(), 8) >> 2;  // below 2^62: never wraps
}

// Format 2 (before the paged layout): the replacement is made under a temporary name and
// renamed into place, and the old inode, still held open, is then overwritten in place.
// A crash between the rename and the overwrite leaves the old bytes in free blocks: a
// window of one fsync, once per vault.
absl::Status ReplaceFormatTwo(const std::string& path, const KeyFile& next) {
  int old_fd = ::open(path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  if (old_fd < 0) return absl::InternalError("cannot open the vault key file");
  struct stat st {};
  int stat_rc = ::fstat(old_fd, &st);
  absl::Status status = CreateKeyFile(path, next);
  if (status.ok() && stat_rc == 0) {
    std::string noise = crypto::RandomBytes(static_cast<size_t>(st.st_size));
    if (::pwrite(old_fd, noise.data(), noise.size(), 0) != static_cast<ssize_t>(noise.size()) ||
        ::fsync(old_fd) != 0) {
      status = absl::InternalError("cannot overwrite the old vault key file");
    }
  }
  ::close(old_fd);
  return status;
}

}  // namespace

std::string EncodeKeyFilePage(uint64_t generation, const KeyFile& file) {
  std::string payload = file.Serialize();
  TEMOIN_CHECK(payload.size() <= kMaxPayloadBytes);
  std::string page(kKeyFilePageBytes, '\0');
  std::memcpy(page.data(), kMagic.data(), kMagic.size());
  StoreLittleEndian(page.data() + 8, generation, 8);
  StoreLittleEndian(page.data() + 16, payload.size(), 4);
  std::memcpy(page.data() + kHeaderBytes, payload.data(), payload.size());
  std::string checksum = crypto::Hash256(
      kChecksumContext, absl::string_view(page).substr(0, kHeaderBytes + payload.size()));
  std::memcpy(page.data() + kHeaderBytes + payload.size(), checksum.data(), checksum.size());
  return page;
}

std::string EncodeNewKeyFile(const KeyFile& file) {
  return absl::StrCat(EncodeKeyFilePage(RandomGeneration(), file),
                      crypto::RandomBytes(kKeyFilePageBytes));
}

absl::StatusOr<StoredKeyFile> DecodeKeyFile(absl::string_view bytes) {
  if (bytes.size() != kKeyFileBytes) {
    // A paged file has exactly two pages; anything else that starts like one is a
    // truncated one, not a format-2 file.
    if (bytes.substr(0, kMagic.size()) == kMagic) return Damaged();
    TEMOIN_ASSIGN_OR_RETURN(KeyFile legacy, KeyFile::Parse(bytes));
    return StoredKeyFile{std::move(legacy), -1, 0, false};
  }
  std::optional<Page> pages[2] = {ReadPage(bytes.substr(0, kKeyFilePageBytes)),
                                  ReadPage(bytes.substr(kKeyFilePageBytes))};
  if (!pages[0].has_value() && !pages[1].has_value()) return Damaged();
  int active = !pages[0].has_value()                         ? 1
               : !pages[1].has_value()                       ? 0
               : pages[1]->generation > pages[0]->generation ? 1
                                                             : 0;
  TEMOIN_ASSIGN_OR_RETURN(KeyFile file, KeyFile::Parse(pages[active]->payload));
  return StoredKeyFile{std::move(file), active, pages[active]->generation,
                       pages[1 - active].has_value()};
}

absl::StatusOr<StoredKeyFile> LoadKeyFile(const std::string& path) {
  TEMOIN_ASSIGN_OR_RETURN(std::string bytes, ReadFileToString(path, 1 << 16));
  TEMOIN_ASSIGN_OR_RETURN(StoredKeyFile stored, DecodeKeyFile(bytes));
  if (stored.stale_page) {
    // A crash between the two steps of an update: the older record may be sealed under a
    // passphrase the owner has just retired. Finish the update's second step now.
    int stale = 1 - stored.active_page;
    TEMOIN_RETURN_IF_ERROR(WriteInPlaceDurably(path, stale * kKeyFilePageBytes,
                                               crypto::RandomBytes(kKeyFilePageBytes)));
    stored.stale_page = false;
  }
  return stored;
}

absl::Status CreateKeyFile(const std::string& path, const KeyFile& file) {
  return WriteFileDurably(path, EncodeNewKeyFile(file), 0600);
}

absl::Status UpdateKeyFile(const std::string& path, const StoredKeyFile& current,
                           const KeyFile& next) {
  if (current.active_page < 0) return ReplaceFormatTwo(path, next);
  const int target = 1 - current.active_page;
  // Step 1: the new record into the page of noise. Until this fsync returns, the old
  // record is the only whole one and still opens the vault.
  TEMOIN_RETURN_IF_ERROR(WriteInPlaceDurably(path, target * kKeyFilePageBytes,
                                             EncodeKeyFilePage(current.generation + 1, next)));
  // Step 2: the old record, sealed under what the owner is replacing, becomes noise.
  return WriteInPlaceDurably(path, current.active_page * kKeyFilePageBytes,
                             crypto::RandomBytes(kKeyFilePageBytes));
}

}  // namespace temoin::client
