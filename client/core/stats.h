#ifndef TEMOIN_CLIENT_CORE_STATS_H_
#define TEMOIN_CLIENT_CORE_STATS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "client/core/review_desk.h"

// The reviewer's statistics, the kind that end up in quarterly reports: how many
// records, acts and victims, by act type, region, alleged perpetrator and month of the
// incident. Computed in memory from opened records; nothing is written anywhere.
namespace temoin::client {

struct Stats {
  uint64_t records = 0;
  uint64_t victims = 0;  // victim_counts.total, or the number of victims listed
  uint64_t restricted = 0;
  std::map<std::string, uint64_t> acts;          // act code -> sum of counts (1 if 0)
  std::map<std::string, uint64_t> regions;       // region code -> records
  std::map<std::string, uint64_t> perpetrators;  // code -> records naming it
  std::map<std::string, uint64_t> months;        // "YYYY-MM" (or "YYYY", "unknown") -> records
};

Stats ComputeStats(const std::vector<OpenedRecord>& records);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_CORE_STATS_H_
