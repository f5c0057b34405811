#ifndef TEMOIN_CLIENT_CORE_DUPLICATES_H_
#define TEMOIN_CLIENT_CORE_DUPLICATES_H_

#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/core/review_desk.h"
#include "client/vault/vault.h"

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
// The same over records the caller already holds (a desk's filtered view), so that 20,000
// decrypted testimonies are neither copied nor left behind in copies to wipe.
std::vector<DuplicateGroup> FindPossibleDuplicates(const RecordRefs& records);

// The reviewer's decision on a group, kept sealed in the vault under
//   dupdecision/<GroupKey>   "confirmed" | "split"
// A decision holds for exactly that set of records: when a new record joins the group,
// the group is undecided again and asks to be looked at.
inline constexpr char kDuplicateDecisionNs[] = "dupdecision";
enum class DuplicateDecision { kUndecided, kConfirmed, kSplit };

// The members' record ids (16 bytes each), sorted and concatenated.
std::string GroupKey(const std::vector<OpenedRecord>& records, const DuplicateGroup& group);
std::string GroupKey(const RecordRefs& records, const DuplicateGroup& group);

// kUndecided removes a decision.
absl::Status StoreDuplicateDecision(Vault& vault, const std::string& group_key,
                                    DuplicateDecision decision);
// Every decision, by group key. kDataLoss when a stored one does not parse.
absl::StatusOr<std::map<std::string, DuplicateDecision>> LoadDuplicateDecisions(Vault& vault);
DuplicateDecision DecisionFor(const std::map<std::string, DuplicateDecision>& decisions,
                              const std::string& group_key);

// Statistics count one incident once: the indices of `records` to leave out, every
// member but the first (in the order given) of each group the reviewer confirmed.
std::vector<size_t> RepeatsOfConfirmedIncidents(
    const std::vector<OpenedRecord>& records,
    const std::map<std::string, DuplicateDecision>& decisions);
std::vector<size_t> RepeatsOfConfirmedIncidents(
    const RecordRefs& records, const std::map<std::string, DuplicateDecision>& decisions);

// Exposed for tests.
bool SimilarNames(const std::string& a, const std::string& b);
double DistanceKm(double lat1, double lon1, double lat2, double lon2);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_CORE_DUPLICATES_H_
