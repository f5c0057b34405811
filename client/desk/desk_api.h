#ifndef TEMOIN_CLIENT_DESK_DESK_API_H_
#define TEMOIN_CLIENT_DESK_DESK_API_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/core/record_filter.h"
#include "client/desk/desk_state.h"

// The JSON API of docs/desk-api.md, as functions of the unlocked desk: no HTTP here
// (desk_server.cc adapts them), and no rule either: selection, statistics and exports
// are client/core's, the same the `temoin review` commands use.
namespace temoin::client::desk {

// A RecordFilter from query parameters (q, from, to, region, act, perpetrator,
// source_type, victim_sex, victim_age_group, sensitivity, device). Unknown parameters
// are ignored; values are untrusted and only compared.
RecordFilter FilterFromParams(const std::multimap<std::string, std::string>& params);

// The records that match, in log order (unverified ones included, marked).
std::vector<const OpenedRecord*> Select(const Unlocked& u, const RecordFilter& filter);

// {"count", "total", "unverified", "failures", "records": [{id, project, device_id,
// received_at, date, region, locality, acts, perpetrators, victims, verified,
// attachments}]}
std::string ListJson(const Unlocked& u, const RecordFilter& filter);

// One record as `temoin review show` prints it. kNotFound for an unknown id.
absl::StatusOr<std::string> RecordDetailJson(const Unlocked& u, absl::string_view id_hex);

// Statistics of the matching *verified* records (as `review stats`), with quarters and
// their change in %, victims by group and the share of cases with child victims.
std::string StatsJson(const Unlocked& u, const RecordFilter& filter);

// Possible duplicates among the matching records (client/core/duplicates.h):
// {"groups": [{"records": [row as in ListJson], "links": [{"a", "b", "reason"}]}]}.
std::string DuplicatesJson(const Unlocked& u, const RecordFilter& filter);

// `review export` of the matching records: the same functions, the same bytes.
absl::StatusOr<std::string> ExportFiltered(const Unlocked& u, const RecordFilter& filter,
                                           absl::string_view format);

}  // namespace temoin::client::desk

#endif  // TEMOIN_CLIENT_DESK_DESK_API_H_
