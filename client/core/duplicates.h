#ifndef TEMOIN_CLIENT_CORE_DUPLICATES_H_
#define TEMOIN_CLIENT_CORE_DUPLICATES_H_

#include <cstddef>
#include <string>
#include <vector>

#include "client/core/review_desk.h"

// Possible duplicates: testimonies that probably describe the same incident (several
// witnesses of one event, or one witness heard twice). Two records are linked when all
// of these hold:
//   - the place: the same region and the same locality (accent- and case-insensitive),
//     or, when both have coordinates, at most 10 km apart;
//   - the date: full incident dates ("YYYY-MM-DD") at most 3 days apart (a partial date
//     cannot show that, so it never links);
//   - the acts: at least one act type in common;
//   - the victims: when both name victims, at least one pair of similar names
//     (FoldForSearch, words sorted, edit distance at most 1 per 5 letters, at least 1).
// Groups are the connected sets of linked records. In memory only.
namespace temoin::client {

struct DuplicateLink {
  size_t a = 0, b = 0;  // indices into the records given
  std::string reason;   // why, for the reviewer (names the shared acts and names)
};

struct DuplicateGroup {
  std::vector<size_t> members;  // ascending indices
  std::vector<DuplicateLink> links;
};

std::vector<DuplicateGroup> FindPossibleDuplicates(const std::vector<OpenedRecord>& records);

// Exposed for tests.
bool SimilarNames(const std::string& a, const std::string& b);
double DistanceKm(double lat1, double lon1, double lat2, double lon2);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_CORE_DUPLICATES_H_
