#include "client/core/gaps.h"

#include <map>
#include <set>

namespace temoin::client {

std::vector<DeviceGaps> FindGaps(const std::vector<OpenedRecord>& records) {
  struct Seen {
    std::string project;
    std::set<uint64_t> seqs;
  };
  std::map<std::string, Seen> by_device;
  for (const OpenedRecord& record : records) {
    if (!record.verified || record.device_seq == 0) continue;
    Seen& seen = by_device[record.device_id];
    seen.project = record.project;
    seen.seqs.insert(record.device_seq);
  }
  std::vector<DeviceGaps> out;
  for (const auto& [device_id, seen] : by_device) {
    DeviceGaps gaps{.device_id = device_id,
                    .project = seen.project,
                    .received = seen.seqs.size(),
                    .highest = *seen.seqs.rbegin()};
    uint64_t next = 1;  // the lowest number not yet accounted for
    for (uint64_t seq : seen.seqs) {
      if (seq > next) gaps.missing.emplace_back(next, seq - 1);
      next = seq + 1;
    }
    out.push_back(std::move(gaps));
  }
  return out;
}

}  // namespace temoin::client
