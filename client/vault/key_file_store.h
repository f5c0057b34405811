#ifndef TEMOIN_CLIENT_VAULT_KEY_FILE_STORE_H_
#define TEMOIN_CLIENT_VAULT_KEY_FILE_STORE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/vault/key_file.h"

// vault.key on disk, and how it changes without leaving old copies behind.
//
// The file is two 4 KiB pages. A page in use holds a record: magic "TMVKEY03",
// a generation (u64 LE), the length of the KeyFile it holds (u32 LE), the serialized
// KeyFile, and a BLAKE2b-256 checksum of all that; the rest of the page is zeros. The
// other page is random noise. The valid record with the highest generation is the key
// file.
//
// An update never renames (a rename would leave the old inode's blocks, and the old
// passphrase's sealed key in them, free but unchanged on the disk). It overwrites the
// same inode in place, in two synced steps:
//   1. the new record goes into the page of noise, with the next generation;
//   2. the old record's page is overwritten with fresh noise.
// A crash during step 1 can tear only the page being written, whose checksum then
// fails: the old record still opens the vault with the old passphrase. After step 1 the
// new record is whole and wins by generation; a crash during step 2 leaves at worst a
// stale old record beside it, which the next load overwrites with noise (the stale
// record never wins: its generation is lower). At no moment is there no whole record,
// so no crash loses the vault. Each record sits in its own 4 KiB page so that writing
// one page never rewrites the sectors of the other (a device that tears a write tears
// only the page being written).
//
// The generation starts at a random value below 2^62 so that it does not count how
// often the owner changed the key file (a duress passphrase being set, for one).
//
// A key file of format 2 (a bare KeyFile, before this layout) is still read; its first
// update replaces it by a new inode through a rename, and then overwrites the old inode
// in place through a descriptor held across the rename.
namespace temoin::client {

inline constexpr size_t kKeyFilePageBytes = 4096;
inline constexpr size_t kKeyFileBytes = 2 * kKeyFilePageBytes;

struct StoredKeyFile {
  KeyFile file;
  int active_page = 0;  // -1: a format-2 file (one bare KeyFile)
  uint64_t generation = 0;
  bool stale_page = false;  // the other page also holds a whole, older record
};

// `bytes` untrusted. kDataLoss "vault key file is damaged" when no page holds a whole
// record (or a format-2 file does not parse), or KeyFile::Parse's errors for the
// winning record (a cost below the floor, say).
absl::StatusOr<StoredKeyFile> DecodeKeyFile(absl::string_view bytes);

// One page (kKeyFilePageBytes) holding `file` at `generation`.
std::string EncodeKeyFilePage(uint64_t generation, const KeyFile& file);

// A whole new file: `file` in page 0 at a random generation, noise in page 1.
std::string EncodeNewKeyFile(const KeyFile& file);

// Reads and decodes `path`; a stale page left by a crash is overwritten with noise
// first. kNotFound when missing, else DecodeKeyFile's errors.
absl::StatusOr<StoredKeyFile> LoadKeyFile(const std::string& path);

// Creates `path` (0600) holding `file`: a temporary file, renamed into place.
absl::Status CreateKeyFile(const std::string& path, const KeyFile& file);

// Replaces `current` (as loaded from `path`) by `next`, in place, as described above.
absl::Status UpdateKeyFile(const std::string& path, const StoredKeyFile& current,
                           const KeyFile& next);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_VAULT_KEY_FILE_STORE_H_
