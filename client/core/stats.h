#ifndef TEMOIN_CLIENT_CORE_STATS_H_
#define TEMOIN_CLIENT_CORE_STATS_H_

#include <cstdint>
#include <map>
#include <optional>
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
  // "YYYY-Qn" of the incident date -> records; a year-only or missing date is "unknown".
  std::map<std::string, uint64_t> quarters;
  // Victims by group, the report's categories: victim_counts when the record has a
  // total, otherwise each listed victim by sex and age group (or age under 18); anyone
  // whose sex or age is not known is "unknown".
  uint64_t women = 0, men = 0, girls = 0, boys = 0, victims_unknown = 0;
  uint64_t records_with_child_victims = 0;  // at least one girl or boy
};

// The change from the previous calendar quarter in percent, as the reports give it
// ("an increase of 112.21%"): std::nullopt when that quarter has no records or
// `quarter` is not "YYYY-Qn".
std::optional<double> QuarterChangePercent(const std::map<std::string, uint64_t>& quarters,
                                           const std::string& quarter);

// "YYYY-Qn" for a date of at least "YYYY-MM"; "unknown" otherwise.
std::string QuarterOf(const std::string& date);

// Statistics end up in reports: a record counts only when its whole chain verifies and
// it did not arrive from a device under duress (quarantined). The CLI and the desk both
// ask this.
bool CountsInStatistics(const OpenedRecord& record);

Stats ComputeStats(const std::vector<OpenedRecord>& records);
Stats ComputeStats(const RecordRefs& records);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_CORE_STATS_H_
