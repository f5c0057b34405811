#ifndef TEMOIN_CLIENT_CORE_GAPS_H_
#define TEMOIN_CLIENT_CORE_GAPS_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "client/core/review_desk.h"

// Gaps in devices' sequences (issue 9): each device numbers the records it seals 1, 2, 3...
// in the signed header (device_seq), so a number no received record carries is a record
// still in the field, lost, or suppressed. Computed from what the reviewer holds, with
// no network.
namespace temoin::client {

struct DeviceGaps {
  std::string device_id;  // 16 bytes
  std::string project;
  uint64_t received = 0;                               // distinct device_seq values held
  uint64_t highest = 0;                                // the highest device_seq held
  std::vector<std::pair<uint64_t, uint64_t>> missing;  // inclusive ranges, ascending
};

// Per device (by id), the ranges of [1, highest] that no record covers. Only records whose
// chain verified count (an unverified header could claim any device and number); the
// numbers after the highest one held cannot be known. Devices in id order.
std::vector<DeviceGaps> FindGaps(const std::vector<OpenedRecord>& records);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_CORE_GAPS_H_
