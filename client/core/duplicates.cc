#include "client/core/duplicates.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <optional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/core/record_filter.h"
#include "common/status_macros.h"

namespace temoin::client {
namespace {

constexpr double kNearKm = 10.0;
constexpr int64_t kNearDays = 3;

// Days since 1970-01-01 of a full "YYYY-MM-DD" date (H. Hinnant's days_from_civil).
std::optional<int64_t> DayNumber(const std::string& date) {
  if (date.size() != 10 || date[4] != '-' || date[7] != '-') return std::nullopt;
  int y = 0, m = 0, d = 0;
  if (std::sscanf(date.c_str(), "%4d-%2d-%2d", &y, &m, &d) != 3 || m < 1 || m > 12 || d < 1 ||
      d > 31) {
    return std::nullopt;
  }
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

std::string NormalisedName(const std::string& name) {
  std::vector<std::string> words = absl::StrSplit(FoldForSearch(name), ' ', absl::SkipEmpty());
  std::sort(words.begin(), words.end());
  return absl::StrJoin(words, " ");
}

size_t EditDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  std::iota(row.begin(), row.end(), 0);
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = above;
    }
  }
  return row[b.size()];
}

bool HasCoordinates(const v1::Incident& i) {
  return i.precision_m() > 0 || i.latitude() != 0 || i.longitude() != 0;
}

std::optional<std::string> SamePlace(const v1::Incident& a, const v1::Incident& b) {
  if (!a.region().empty() && a.region() == b.region() && !a.locality().empty() &&
      FoldForSearch(a.locality()) == FoldForSearch(b.locality())) {
    return std::string("same region and locality");
  }
  if (HasCoordinates(a) && HasCoordinates(b)) {
    double km = DistanceKm(a.latitude(), a.longitude(), b.latitude(), b.longitude());
    if (km <= kNearKm) return absl::StrCat(static_cast<int>(std::lround(km)), " km apart");
  }
  return std::nullopt;
}

std::optional<std::string> SharedActs(const v1::Testimony& a, const v1::Testimony& b) {
  std::set<std::string> mine, shared;
  for (const v1::Act& act : a.acts()) mine.insert(act.type());
  for (const v1::Act& act : b.acts()) {
    if (mine.count(act.type())) shared.insert(act.type());
  }
  if (shared.empty()) return std::nullopt;
  return absl::StrCat("acts in common: ", absl::StrJoin(shared, ", "));
}

// nullopt: both name victims and none is similar. "": nothing to compare.
std::optional<std::string> SimilarVictims(const v1::Testimony& a, const v1::Testimony& b) {
  bool a_named = false, b_named = false;
  for (const v1::Victim& v : a.victims()) a_named |= !v.name().empty();
  for (const v1::Victim& v : b.victims()) b_named |= !v.name().empty();
  if (!a_named || !b_named) return std::string();
  for (const v1::Victim& x : a.victims()) {
    for (const v1::Victim& y : b.victims()) {
      if (!x.name().empty() && !y.name().empty() && SimilarNames(x.name(), y.name())) {
        return absl::StrCat("similar victim names: ", x.name(), " ~ ", y.name());
      }
    }
  }
  return std::nullopt;
}

std::optional<std::string> Linked(const OpenedRecord& a, const OpenedRecord& b, int64_t days) {
  std::optional<std::string> place = SamePlace(a.testimony.incident(), b.testimony.incident());
  if (!place) return std::nullopt;
  std::optional<std::string> acts = SharedActs(a.testimony, b.testimony);
  if (!acts) return std::nullopt;
  std::optional<std::string> names = SimilarVictims(a.testimony, b.testimony);
  if (!names) return std::nullopt;
  std::string reason = absl::StrCat(*place, "; incident dates ", days,
                                    days == 1 ? " day apart; " : " days apart; ", *acts);
  if (!names->empty()) absl::StrAppend(&reason, "; ", *names);
  return reason;
}

size_t Root(std::vector<size_t>& parent, size_t i) {
  while (parent[i] != i) i = parent[i] = parent[parent[i]];
  return i;
}

}  // namespace

bool SimilarNames(const std::string& a, const std::string& b) {
  std::string x = NormalisedName(a), y = NormalisedName(b);
  if (x.empty() || y.empty()) return false;
  size_t allowed = std::max<size_t>(1, std::min(x.size(), y.size()) / 5);
  return EditDistance(x, y) <= allowed;
}

double DistanceKm(double lat1, double lon1, double lat2, double lon2) {
  constexpr double kEarthKm = 6371.0, kRad = M_PI / 180.0;
  double dlat = (lat2 - lat1) * kRad, dlon = (lon2 - lon1) * kRad;
  double h = std::sin(dlat / 2) * std::sin(dlat / 2) + std::cos(lat1 * kRad) *
                                                           std::cos(lat2 * kRad) *
                                                           std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * kEarthKm * std::asin(std::min(1.0, std::sqrt(h)));
}

std::vector<DuplicateGroup> FindPossibleDuplicates(const std::vector<OpenedRecord>& records) {
  return FindPossibleDuplicates(RefsTo(records));
}

std::vector<DuplicateGroup> FindPossibleDuplicates(const RecordRefs& records) {
  // Only records with a full date can link; sorted by day, each is compared with those
  // at most kNearDays later, so 20,000 records are not 200 million pairs.
  std::vector<std::pair<int64_t, size_t>> dated;
  for (size_t i = 0; i < records.size(); ++i) {
    if (auto day = DayNumber(records[i]->testimony.incident().date())) dated.emplace_back(*day, i);
  }
  std::sort(dated.begin(), dated.end());
  std::vector<size_t> parent(records.size());
  std::iota(parent.begin(), parent.end(), 0);
  std::vector<DuplicateLink> links;
  for (size_t p = 0; p < dated.size(); ++p) {
    for (size_t q = p + 1; q < dated.size() && dated[q].first - dated[p].first <= kNearDays; ++q) {
      size_t a = std::min(dated[p].second, dated[q].second);
      size_t b = std::max(dated[p].second, dated[q].second);
      std::optional<std::string> reason =
          Linked(*records[a], *records[b], dated[q].first - dated[p].first);
      if (!reason) continue;
      links.push_back({a, b, std::move(*reason)});
      parent[Root(parent, a)] = Root(parent, b);
    }
  }
  std::map<size_t, DuplicateGroup> by_root;
  for (DuplicateLink& link : links) {
    DuplicateGroup& group = by_root[Root(parent, link.a)];
    group.links.push_back(std::move(link));
  }
  std::vector<DuplicateGroup> groups;
  for (auto& [root, group] : by_root) {
    std::set<size_t> members;
    for (const DuplicateLink& link : group.links) members.insert({link.a, link.b});
    group.members.assign(members.begin(), members.end());
    groups.push_back(std::move(group));
  }
  std::sort(groups.begin(), groups.end(),
            [](const auto& x, const auto& y) { return x.members.front() < y.members.front(); });
  return groups;
}

std::string GroupKey(const std::vector<OpenedRecord>& records, const DuplicateGroup& group) {
  return GroupKey(RefsTo(records), group);
}

std::string GroupKey(const RecordRefs& records, const DuplicateGroup& group) {
  std::vector<std::string> ids;
  for (size_t i : group.members) ids.push_back(records[i]->record_id);
  std::sort(ids.begin(), ids.end());
  return absl::StrJoin(ids, "");
}

absl::Status StoreDuplicateDecision(Vault& vault, const std::string& group_key,
                                    DuplicateDecision decision) {
  VaultBatch batch;
  if (decision == DuplicateDecision::kUndecided) {
    batch.Delete(kDuplicateDecisionNs, group_key);
  } else {
    batch.Put(kDuplicateDecisionNs, group_key,
              decision == DuplicateDecision::kConfirmed ? "confirmed" : "split");
  }
  return vault.Commit(batch);
}

absl::StatusOr<std::map<std::string, DuplicateDecision>> LoadDuplicateDecisions(Vault& vault) {
  std::map<std::string, DuplicateDecision> out;
  bool damaged = false;
  TEMOIN_RETURN_IF_ERROR(
      vault.Scan(kDuplicateDecisionNs, [&](absl::string_view key, absl::string_view value) {
        if (value == "confirmed") {
          out[std::string(key)] = DuplicateDecision::kConfirmed;
        } else if (value == "split") {
          out[std::string(key)] = DuplicateDecision::kSplit;
        } else {
          damaged = true;
        }
        return true;
      }));
  if (damaged) return absl::DataLossError("a duplicate decision in the vault does not parse");
  return out;
}

DuplicateDecision DecisionFor(const std::map<std::string, DuplicateDecision>& decisions,
                              const std::string& group_key) {
  auto it = decisions.find(group_key);
  return it == decisions.end() ? DuplicateDecision::kUndecided : it->second;
}

std::vector<size_t> RepeatsOfConfirmedIncidents(
    const std::vector<OpenedRecord>& records,
    const std::map<std::string, DuplicateDecision>& decisions) {
  return RepeatsOfConfirmedIncidents(RefsTo(records), decisions);
}

std::vector<size_t> RepeatsOfConfirmedIncidents(
    const RecordRefs& records, const std::map<std::string, DuplicateDecision>& decisions) {
  std::vector<size_t> repeats;
  if (decisions.empty()) return repeats;
  for (const DuplicateGroup& group : FindPossibleDuplicates(records)) {
    if (DecisionFor(decisions, GroupKey(records, group)) == DuplicateDecision::kConfirmed) {
      repeats.insert(repeats.end(), group.members.begin() + 1, group.members.end());
    }
  }
  std::sort(repeats.begin(), repeats.end());
  return repeats;
}

}  // namespace temoin::client
