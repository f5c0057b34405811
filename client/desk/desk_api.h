#ifndef TEMOIN_CLIENT_DESK_DESK_API_H_
#define TEMOIN_CLIENT_DESK_DESK_API_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/core/attachments.h"
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

// One page of the list: the page draws `limit` rows at a time (20,000 rows in one answer
// took 400 ms to build and send, and far longer for the page to draw).
inline constexpr size_t kDefaultListLimit = 200;
inline constexpr size_t kMaxListLimit = 1000;
struct ListPage {
  size_t offset = 0;
  size_t limit = kDefaultListLimit;
};

// `offset` and `limit` from the query; missing or malformed values keep the defaults,
// and the limit is held to [1, kMaxListLimit].
ListPage PageFromParams(const std::multimap<std::string, std::string>& params);

// {"count" (all that match), "total", "unverified", "failures", "offset", "next_offset"
// (null on the last page), "records": the page's rows [{id, project, device_id,
// received_at, date, region, locality, acts, perpetrators, victims, verified,
// attachments}]}
std::string ListJson(const Unlocked& u, const RecordFilter& filter, const ListPage& page = {});

// One record as `temoin review show` prints it. kNotFound for an unknown id.
absl::StatusOr<std::string> RecordDetailJson(const Unlocked& u, absl::string_view id_hex);

// Statistics of the matching *verified* records (as `review stats`), with quarters and
// their change in %, victims by group and the share of cases with child victims. Each
// group of duplicates the reviewer confirmed counts once unless `raw`.
absl::StatusOr<std::string> StatsJson(Unlocked& u, const RecordFilter& filter, bool raw);

// Possible duplicates among the matching records (client/core/duplicates.h):
// {"groups": [{"key", "decision": "undecided"|"confirmed"|"split", "records": [row as
// in ListJson], "links": [{"a", "b", "reason"}]}]}.
absl::StatusOr<std::string> DuplicatesJson(Unlocked& u, const RecordFilter& filter);

// `temoin review gaps` over the records on this desk (FindGaps, the same function):
// {"unverified_left_out": n, "devices": [{"device_id", "project", "received", "highest",
// "missing": [[low, high], ...]}]}. Only verified records count, as in the CLI.
std::string GapsJson(const Unlocked& u);

// Keeps the reviewer's decision on the group whose key (hex) is `key_hex`: the group
// must be one FindPossibleDuplicates gives over the records of this desk matching
// `filter` (kNotFound otherwise). `decision`: confirmed, split or undecided.
absl::Status DecideDuplicates(Unlocked& u, const RecordFilter& filter, absl::string_view key_hex,
                              absl::string_view decision);

// `review export` of the matching records: the same functions, the same bytes.
absl::StatusOr<std::string> ExportFiltered(const Unlocked& u, const RecordFilter& filter,
                                           absl::string_view format);

// The monitor's side. The testimony is the proto3 JSON `temoin record --from` reads;
// parsing and validation are the same functions (ParseTestimonyJson, ValidateTestimony
// against the vault's vocabulary), so the form refuses exactly what `record` refuses.
// kInvalidArgument with record's message when it does not validate.
absl::Status CheckTestimony(Unlocked& u, absl::string_view testimony_json);

// How the form's testimony is kept: a new or existing draft, or sealed (a sealed draft is
// deleted in the same commit, as `draft seal`), with the files picked in the page.
struct TestimonyRequest {
  bool as_draft = false;
  std::string draft_id;  // the draft being edited, or ""
  const std::vector<InMemoryAttachment>* attachments = nullptr;
};

// Seals the testimony for the project's reviewers (SealTestimonies, as `record`, the
// files through StoreAttachmentBytes: JPEG metadata stripped in memory), or saves it as
// a draft (SaveDraft, as `record --draft` and `draft edit`). {"id": hex, "state":
// "sealed" | "draft", "attachments": n}. Files go with sealing only, as in the CLI.
absl::StatusOr<std::string> RecordTestimony(Unlocked& u, absl::string_view testimony_json,
                                            const TestimonyRequest& how);

// `draft list`, with what the page needs to tell them apart: {"drafts": [{"id", "date",
// "region", "locality", "narrative_start"}]}.
absl::StatusOr<std::string> DraftsJson(Unlocked& u);

// `draft show`: the draft as the proto3 JSON the form reads back. kNotFound.
absl::StatusOr<std::string> DraftJson(Unlocked& u, const std::string& id);

// {"role", "project", "records": {"draft", "sealed", "committed", "received", "purged"}}
// as `temoin status --json` counts them.
absl::StatusOr<std::string> OutboxJson(Unlocked& u);

// The admin's side: each adapts the client/sync call its `temoin` command uses.

// `temoin devices`: {"self": hex, "devices": [{"id", "role", "project", "state",
// "enrolled_at"}]}. The server keeps no last-seen time (only the enrolment hour), so
// the desk shows none.
absl::StatusOr<std::string> DevicesJson(Unlocked& u);

// `temoin invite` (IssueInvite): body {"role", "project", "ttl_hours"}. {"code", "role",
// "project", "ttl_hours", "qr_png_base64url", "qr_side_px"}: the one-time code and its QR
// code (client/core/qr_png.h), shown on screen and written nowhere.
absl::StatusOr<std::string> InviteJson(Unlocked& u, absl::string_view body);

// `temoin grant` / `temoin ungrant`: body {"project", "reviewer"}. {"granted": true} or
// {"ungranted": true, "epoch": n} (the project's new key epoch).
absl::StatusOr<std::string> GrantJson(Unlocked& u, absl::string_view body, bool grant);

// `temoin revoke` (RevokeDevice): body {"device", "confirm"}; `confirm` must repeat the
// device id, so that no script or stray click revokes by accident (kInvalidArgument).
// {"revoked": id, "rotated": [project]}.
absl::StatusOr<std::string> RevokeJson(Unlocked& u, absl::string_view body);

// `temoin audit --verify`: {"verified": bool, "problem": why not (or ""), "entries":
// [{"index", "time", "actor", "action", "object", "project"}]}. When the chain does not
// verify the entries are still listed (read without the check), marked unverified.
absl::StatusOr<std::string> AuditJson(Unlocked& u);

}  // namespace temoin::client::desk

#endif  // TEMOIN_CLIENT_DESK_DESK_API_H_
