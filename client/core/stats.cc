#include "client/core/stats.h"

#include <cstdlib>
#include <set>

namespace temoin::client {

namespace {

struct VictimGroups {
  uint64_t women = 0, men = 0, girls = 0, boys = 0, unknown = 0;
};

VictimGroups GroupVictims(const v1::Testimony& t) {
  VictimGroups g;
  const v1::VictimCounts& c = t.victim_counts();
  if (c.total() > 0) {
    g = {c.women(), c.men(), c.girls(), c.boys(), 0};
    uint64_t known = g.women + g.men + g.girls + g.boys;
    g.unknown = c.total() > known ? c.total() - known : 0;
    return g;
  }
  for (const v1::Victim& v : t.victims()) {
    const bool child = v.age_group() == "child" || (v.age() > 0 && v.age() < 18);
    const bool grown = v.age_group() == "adult" || v.age_group() == "elderly" || v.age() >= 18;
    if (v.sex() == "female" && child) {
      ++g.girls;
    } else if (v.sex() == "male" && child) {
      ++g.boys;
    } else if (v.sex() == "female" && grown) {
      ++g.women;
    } else if (v.sex() == "male" && grown) {
      ++g.men;
    } else {
      ++g.unknown;
    }
  }
  return g;
}

}  // namespace

std::string QuarterOf(const std::string& date) {
  if (date.size() < 7 || date[4] != '-') return "unknown";
  int month = (date[5] - '0') * 10 + (date[6] - '0');
  if (month < 1 || month > 12) return "unknown";
  return date.substr(0, 4) + "-Q" + std::to_string((month - 1) / 3 + 1);
}

std::optional<double> QuarterChangePercent(const std::map<std::string, uint64_t>& quarters,
                                           const std::string& quarter) {
  if (quarter.size() != 7 || quarter[5] != 'Q') return std::nullopt;
  int year = std::atoi(quarter.substr(0, 4).c_str());
  int q = quarter[6] - '0';
  std::string previous =
      q == 1 ? std::to_string(year - 1) + "-Q4" : quarter.substr(0, 6) + std::to_string(q - 1);
  auto before = quarters.find(previous);
  auto now = quarters.find(quarter);
  if (before == quarters.end() || before->second == 0 || now == quarters.end()) {
    return std::nullopt;
  }
  return (static_cast<double>(now->second) - static_cast<double>(before->second)) * 100.0 /
         static_cast<double>(before->second);
}

bool CountsInStatistics(const OpenedRecord& record) {
  return record.verified && !record.quarantined;
}

Stats ComputeStats(const std::vector<OpenedRecord>& records) {
  return ComputeStats(RefsTo(records));
}

Stats ComputeStats(const RecordRefs& records) {
  Stats stats;
  for (const OpenedRecord* record : records) {
    const v1::Testimony& t = record->testimony;
    ++stats.records;
    stats.victims += t.victim_counts().total() > 0 ? t.victim_counts().total()
                                                   : static_cast<uint64_t>(t.victims_size());
    if (t.sensitivity() == v1::SENSITIVITY_RESTRICTED) ++stats.restricted;
    // An act recorded without a count still happened at least once.
    for (const v1::Act& act : t.acts()) stats.acts[act.type()] += act.count() > 0 ? act.count() : 1;
    ++stats.regions[t.incident().region().empty() ? "unknown" : t.incident().region()];
    // A record naming the same perpetrator twice counts once.
    std::set<std::string> named(t.perpetrators().begin(), t.perpetrators().end());
    for (const std::string& code : named) ++stats.perpetrators[code];
    const std::string& date = t.incident().date();
    ++stats.months[date.size() >= 7 ? date.substr(0, 7) : (date.empty() ? "unknown" : date)];
    ++stats.quarters[QuarterOf(date)];
    VictimGroups groups = GroupVictims(t);
    stats.women += groups.women;
    stats.men += groups.men;
    stats.girls += groups.girls;
    stats.boys += groups.boys;
    stats.victims_unknown += groups.unknown;
    if (groups.girls + groups.boys > 0) ++stats.records_with_child_victims;
  }
  return stats;
}

}  // namespace temoin::client
