#ifndef TEMOIN_SERVER_CORE_BUNDLE_IMPORT_H_
#define TEMOIN_SERVER_CORE_BUNDLE_IMPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "server/core/bundle_stream.h"
#include "server/core/core.h"

// Offline bundles (temoin bundle export): "TEMOINB1" || SealedBundle, whose key is
// sealed to the server's bundle key. Importing runs every record and attachment
// through the same ingest as a network upload, as the device that made them, so
// dedup by record id and digest makes a second import (or a record that already came
// by network) store nothing twice, and every signature is checked as usual.
namespace temoin::server {

inline constexpr char kBundleMagic[] = "TEMOINB1";
inline constexpr size_t kMaxBundleBytes = 1ull << 30;

struct BundleImportReport {
  uint64_t records = 0;     // new records (body stored)
  uint64_t duplicates = 0;  // already stored with the same digest
  uint64_t refused = 0;     // refused by ingest (each reason in `refusals`)
  std::vector<std::string> refusals;
};

// Reads the bundle in two passes over `source`, with constant memory whatever its size
// (up to kMaxBundleBytes): the first authenticates the whole sealed stream, so a bundle
// that was cut or altered anywhere stores nothing; the second takes its records (in
// batches of at most 256 records or 4 MiB) and then its attachments, one 64 KiB piece at
// a time. The plaintext is expected in the field order protobuf writes (device id,
// records, blobs; in a blob, ids before pieces).
// `source` untrusted. kInvalidArgument "not a temoin bundle" for a bad magic, layout or
// order, or a record over 2 MiB; kFailedPrecondition when the server has no bundle key;
// kUnauthenticated "bundle does not open with this server's key" (sealed to another
// server, or tampered); kPermissionDenied when the originating device is unknown or
// revoked. The named device is charged (daily quota) only for its records that verify;
// whoever carried the file is charged by the relay (RelaySpool), not here.
absl::StatusOr<BundleImportReport> ImportBundle(Core& core, const BundleSource& source);
// The same over a bundle held in memory.
absl::StatusOr<BundleImportReport> ImportBundle(Core& core, absl::string_view file);

}  // namespace temoin::server

#endif  // TEMOIN_SERVER_CORE_BUNDLE_IMPORT_H_
