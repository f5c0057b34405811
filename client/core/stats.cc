#include "client/core/stats.h"

#include <set>

namespace temoin::client {

Stats ComputeStats(const std::vector<OpenedRecord>& records) {
  Stats stats;
  for (const OpenedRecord& record : records) {
    const v1::Testimony& t = record.testimony;
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
  }
  return stats;
}

}  // namespace temoin::client
