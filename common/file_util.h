#ifndef TEMOIN_COMMON_FILE_UTIL_H_
#define TEMOIN_COMMON_FILE_UTIL_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace temoin {

// Writes `contents` to `path` durably: a temporary file in the same directory with
// `mode`, fsync, rename over `path`, fsync of the directory. A crash leaves either the
// old file or the new one, never a torn one. kResourceExhausted when the disk is full.
absl::Status WriteFileDurably(const std::string& path, absl::string_view contents, int mode);

// Whole file. kNotFound when missing; kInvalidArgument when larger than `max_bytes`.
absl::StatusOr<std::string> ReadFileToString(const std::string& path, size_t max_bytes = 64 << 20);

// mkdir -p with `mode` for the directories it creates.
absl::Status MakeDirectories(const std::string& path, int mode);

bool PathExists(const std::string& path);

// Overwrites the regular file at `path` in place with random bytes over its whole
// length and fsyncs it: the same inode and, on file systems that update in place (ext4,
// xfs without reflinks, FAT), the same blocks, so the old bytes are gone from the disk
// rather than left in freed blocks. Not for copy-on-write file systems (btrfs, zfs) nor
// flash translation layers (SSD, eMMC, SD cards), which may write the noise elsewhere
// and keep the old blocks whatever software does: encryption is the real protection.
// Does not follow a symbolic link. kNotFound when missing; kFailedPrecondition for a
// symbolic link, a non-regular file, or a file with other hard links (overwriting
// would destroy the content under its other names too; nothing is changed).
absl::Status OverwriteInPlace(const std::string& path);

// OverwriteInPlace, then unlink and fsync of the directory. A symbolic link is unlinked
// without touching its target. Not found is fine (idempotent).
absl::Status ShredFile(const std::string& path);

// Writes `bytes` at `offset` of the existing file `path` (same inode, no truncation;
// the file grows if `offset + bytes.size()` passes its end) and fsyncs before returning.
// kNotFound when missing; kResourceExhausted when the disk is full.
absl::Status WriteInPlaceDurably(const std::string& path, uint64_t offset, absl::string_view bytes);

// fsync of every regular file and directory under `path` (and of `path` itself), so
// that a tree written with ordinary writes, hard links or renames is on disk. Does not
// follow symbolic links.
absl::Status SyncTree(const std::string& path);

// Copies the tree `from` into `to` (created with mode 0700; it must not exist), files
// keeping their permission bits, then SyncTree(to). Symbolic links are refused
// (kFailedPrecondition): a backup holds files, not pointers elsewhere.
absl::Status CopyTreeDurably(const std::string& from, const std::string& to);

}  // namespace temoin

#endif  // TEMOIN_COMMON_FILE_UTIL_H_
