#ifndef TEMOIN_COMMON_FILE_UTIL_H_
#define TEMOIN_COMMON_FILE_UTIL_H_

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

}  // namespace temoin

#endif  // TEMOIN_COMMON_FILE_UTIL_H_
