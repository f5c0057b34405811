#ifndef TEMOIN_CRYPTO_LOG_LEAF_H_
#define TEMOIN_CRYPTO_LOG_LEAF_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

// The leaf of the server's transparency log (docs/architecture.md "Transparency log"):
// the server writes it, devices and verifiers rebuild it from a receipt to check an
// inclusion proof, so the encoding lives here, beside the Merkle code.
namespace temoin::crypto {

// Signing context of the receipt key's signature over the log's vkey (GetLogProofs):
// ties the log key to the receipt key a device pinned at enrolment.
inline constexpr char kLogKeyContext[] = "temoin/log-key/v1";

// Names the log key a device holds (GetLogProofsRequest.held_log_key): the first 8
// bytes of Hash256("temoin/log-key-tag/v1", vkey). A server whose key has this tag leaves
// the key and the receipt key's signature over it out of its answer (~140 B down). Change
// detection only: a tag that matched another key would leave the device with a
// checkpoint its held key cannot verify, which it refuses.
std::string LogKeyTag(absl::string_view vkey);

// What a leaf commits to. Encoded canonically (EncodeLogLeaf) and hashed as an RFC 9162
// leaf: H(0x00 || encoding).
struct LogLeaf {
  uint64_t log_index = 0;     // 1-based, as in receipts
  std::string record_id;      // 16 bytes
  std::string digest;         // the record's digest, 32 bytes
  std::string device_id;      // the device that signed it
  uint64_t device_seq = 0;    // its per-device sequence number
  int64_t received_hour = 0;  // unix seconds at the start of the receiving hour
};

// The leaf bytes, version 1:
//   "temoin-log-leaf/v1" 0x00
//   log_index u64be || u16be len || record_id || u16be len || digest ||
//   u16be len || device_id || device_seq u64be || received_hour i64be (two's complement)
std::string EncodeLogLeaf(const LogLeaf& leaf);

}  // namespace temoin::crypto

#endif  // TEMOIN_CRYPTO_LOG_LEAF_H_
