#include "client/desk/desk_api.h"

#include <algorithm>
#include <cstdint>

#include "absl/strings/numbers.h"
#include "absl/time/time.h"
#include "client/core/device_state.h"
#include "client/core/drafts.h"
#include "client/core/duplicates.h"
#include "client/core/export.h"
#include "client/core/gaps.h"
#include "client/core/outbox.h"
#include "client/core/qr_png.h"
#include "client/core/stats.h"
#include "client/sync/admin_client.h"
#include "client/sync/audit_client.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "common/vocabulary.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

namespace temoin::client::desk {
namespace {

using nlohmann::ordered_json;

std::string Param(const std::multimap<std::string, std::string>& params, const char* name) {
  auto it = params.find(name);
  return it == params.end() ? "" : it->second;
}

ordered_json RowJson(const OpenedRecord& r) {
  const v1::Testimony& t = r.testimony;
  ordered_json row;
  row["id"] = ToHex(r.record_id);
  row["project"] = r.project;
  row["device_id"] = ToHex(r.device_id);
  row["received_at"] = FormatRfc3339(r.received_at);
  row["date"] = t.incident().date();
  row["region"] = t.incident().region();
  row["locality"] = t.incident().locality();
  ordered_json acts = ordered_json::array();
  for (const v1::Act& a : t.acts()) acts.push_back(a.type());
  row["acts"] = acts;
  row["perpetrators"] =
      ordered_json(std::vector<std::string>(t.perpetrators().begin(), t.perpetrators().end()));
  row["victims"] = t.victim_counts().total() > 0 ? t.victim_counts().total()
                                                 : static_cast<uint32_t>(t.victims_size());
  row["verified"] = r.verified;
  row["unverified_reason"] = r.unverified_reason;
  row["amends"] = t.amends();
  row["attachments"] = t.attachments_size();
  return row;
}

ordered_json Table(const std::map<std::string, uint64_t>& rows) {
  ordered_json out = ordered_json::array();
  for (const auto& [key, count] : rows) out.push_back({{"key", key}, {"count", count}});
  return out;
}

}  // namespace

RecordFilter FilterFromParams(const std::multimap<std::string, std::string>& params) {
  RecordFilter f;
  f.text = Param(params, "q");
  f.date_from = Param(params, "from");
  f.date_to = Param(params, "to");
  f.region = Param(params, "region");
  f.act = Param(params, "act");
  f.perpetrator = Param(params, "perpetrator");
  f.source_type = Param(params, "source_type");
  f.victim_sex = Param(params, "victim_sex");
  f.victim_age_group = Param(params, "victim_age_group");
  f.sensitivity = Param(params, "sensitivity");
  f.device = Param(params, "device");
  return f;
}

RecordRefs Select(const Unlocked& u, const RecordFilter& filter) {
  RecordRefs out;
  for (size_t i = 0; i < u.desk.records.size(); ++i) {
    if (FilterMatches(filter, u.desk.records[i], u.searchable[i])) {
      out.push_back(&u.desk.records[i]);
    }
  }
  return out;
}

ListPage PageFromParams(const std::multimap<std::string, std::string>& params) {
  ListPage page;
  // Untrusted: anything that is not a plain number keeps the default, and the limit is
  // held to [1, kMaxListLimit] so that no request asks for an unbounded answer.
  auto number = [&](const char* name, size_t fallback) -> size_t {
    auto it = params.find(name);
    uint64_t value = 0;
    if (it == params.end() || !absl::SimpleAtoi(it->second, &value)) return fallback;
    return static_cast<size_t>(std::min<uint64_t>(value, SIZE_MAX / 2));
  };
  page.offset = number("offset", 0);
  page.limit = std::clamp<size_t>(number("limit", kDefaultListLimit), 1, kMaxListLimit);
  return page;
}

std::string ListJson(const Unlocked& u, const RecordFilter& filter, const ListPage& page) {
  RecordRefs selected = Select(u, filter);
  ordered_json out;
  out["count"] = selected.size();
  out["total"] = u.desk.records.size();
  out["unverified"] = u.desk.unverified();
  out["failures"] = u.desk.failures.size();
  const size_t begin = std::min(page.offset, selected.size());
  const size_t end = begin + std::min(page.limit, selected.size() - begin);
  out["offset"] = begin;
  out["next_offset"] = end < selected.size() ? ordered_json(end) : ordered_json();
  ordered_json rows = ordered_json::array();
  for (size_t i = begin; i < end; ++i) rows.push_back(RowJson(*selected[i]));
  out["records"] = std::move(rows);
  return out.dump();
}

absl::StatusOr<std::string> RecordDetailJson(const Unlocked& u, absl::string_view id_hex) {
  for (const OpenedRecord& r : u.desk.records) {
    if (ToHex(r.record_id) == id_hex) return RecordJson(r);
  }
  return absl::NotFoundError("no such record on this desk");
}

absl::StatusOr<std::string> StatsJson(Unlocked& u, const RecordFilter& filter, bool raw) {
  RecordRefs verified;
  uint64_t left_out = 0;
  for (const OpenedRecord* r : Select(u, filter)) {
    if (CountsInStatistics(*r)) {
      verified.push_back(r);
    } else {
      ++left_out;
    }
  }
  std::vector<size_t> repeats;
  if (!raw) {
    TEMOIN_ASSIGN_OR_RETURN(auto decisions, LoadDuplicateDecisions(*u.vault));
    repeats = RepeatsOfConfirmedIncidents(verified, decisions);
  }
  std::vector<bool> is_repeat(verified.size(), false);
  for (size_t i : repeats) is_repeat[i] = true;
  RecordRefs counted;
  for (size_t i = 0; i < verified.size(); ++i) {
    if (!is_repeat[i]) counted.push_back(verified[i]);
  }
  Stats stats = ComputeStats(counted);
  ordered_json out;
  out["records"] = stats.records;
  out["confirmed_repeats_left_out"] = repeats.size();
  out["unverified_left_out"] = left_out;
  out["victims"] = stats.victims;
  out["restricted"] = stats.restricted;
  ordered_json quarters = ordered_json::array();
  for (const auto& [quarter, count] : stats.quarters) {
    std::optional<double> change = QuarterChangePercent(stats.quarters, quarter);
    quarters.push_back({{"key", quarter},
                        {"count", count},
                        {"change_percent", change ? ordered_json(*change) : ordered_json()}});
  }
  out["quarters"] = quarters;
  out["acts"] = Table(stats.acts);
  out["regions"] = Table(stats.regions);
  out["perpetrators"] = Table(stats.perpetrators);
  out["victim_groups"] = Table({{"women", stats.women},
                                {"men", stats.men},
                                {"girls", stats.girls},
                                {"boys", stats.boys},
                                {"unknown", stats.victims_unknown}});
  out["records_with_child_victims"] = stats.records_with_child_victims;
  out["child_victim_share_percent"] =
      stats.records == 0
          ? ordered_json()
          : ordered_json(100.0 * static_cast<double>(stats.records_with_child_victims) /
                         static_cast<double>(stats.records));
  return out.dump();
}

namespace {

const char* DecisionName(DuplicateDecision d) {
  switch (d) {
    case DuplicateDecision::kConfirmed:
      return "confirmed";
    case DuplicateDecision::kSplit:
      return "split";
    default:
      return "undecided";
  }
}

}  // namespace

std::string GapsJson(const Unlocked& u) {
  std::vector<DeviceGaps> gaps = FindGaps(u.desk.records);
  ordered_json devices = ordered_json::array();
  for (const DeviceGaps& device : gaps) {
    ordered_json missing = ordered_json::array();
    for (const auto& [low, high] : device.missing) missing.push_back({low, high});
    devices.push_back({{"device_id", ToHex(device.device_id)},
                       {"project", device.project},
                       {"received", device.received},
                       {"highest", device.highest},
                       {"missing", std::move(missing)}});
  }
  ordered_json out;
  out["unverified_left_out"] = u.desk.unverified();
  out["devices"] = std::move(devices);
  return out.dump();
}

absl::StatusOr<std::string> DuplicatesJson(Unlocked& u, const RecordFilter& filter) {
  TEMOIN_ASSIGN_OR_RETURN(auto decisions, LoadDuplicateDecisions(*u.vault));
  const RecordRefs selected = Select(u, filter);
  std::vector<DuplicateGroup> groups = FindPossibleDuplicates(selected);
  ordered_json out_groups = ordered_json::array();
  for (const DuplicateGroup& g : groups) {
    ordered_json rows = ordered_json::array();
    for (size_t i : g.members) rows.push_back(RowJson(*selected[i]));
    ordered_json links = ordered_json::array();
    for (const DuplicateLink& link : g.links) {
      links.push_back({{"a", ToHex(selected[link.a]->record_id)},
                       {"b", ToHex(selected[link.b]->record_id)},
                       {"reason", link.reason}});
    }
    const std::string key = GroupKey(selected, g);
    out_groups.push_back({{"key", ToHex(key)},
                          {"decision", DecisionName(DecisionFor(decisions, key))},
                          {"records", std::move(rows)},
                          {"links", std::move(links)}});
  }
  ordered_json out;
  out["groups"] = std::move(out_groups);
  return out.dump();
}

absl::Status DecideDuplicates(Unlocked& u, const RecordFilter& filter, absl::string_view key_hex,
                              absl::string_view decision) {
  DuplicateDecision d;
  if (decision == "confirmed") {
    d = DuplicateDecision::kConfirmed;
  } else if (decision == "split") {
    d = DuplicateDecision::kSplit;
  } else if (decision == "undecided") {
    d = DuplicateDecision::kUndecided;
  } else {
    return absl::InvalidArgumentError("decision must be confirmed, split or undecided");
  }
  const RecordRefs selected = Select(u, filter);
  bool found = false;
  for (const DuplicateGroup& g : FindPossibleDuplicates(selected)) {
    found |= ToHex(GroupKey(selected, g)) == key_hex;
  }
  if (!found) return absl::NotFoundError("no such group of possible duplicates");
  TEMOIN_ASSIGN_OR_RETURN(std::string key, FromHex(key_hex, "group"));
  return StoreDuplicateDecision(*u.vault, key, d);
}

absl::StatusOr<std::string> ExportFiltered(const Unlocked& u, const RecordFilter& filter,
                                           absl::string_view format) {
  if (format != "csv" && format != "json") {
    return absl::InvalidArgumentError("format must be csv or json");
  }
  std::vector<OpenedRecord> selected;
  for (const OpenedRecord* r : Select(u, filter)) selected.push_back(*r);
  absl::StatusOr<std::string> text = format == "csv" ? ExportCsv(selected) : ExportJson(selected);
  for (OpenedRecord& r : selected) WipeMessage(r.testimony);
  return text;
}

absl::Status CheckTestimony(Unlocked& u, absl::string_view testimony_json) {
  TEMOIN_ASSIGN_OR_RETURN(v1::Testimony testimony, ParseTestimonyJson(testimony_json));
  absl::StatusOr<v1::Vocabulary> vocabulary = LoadVocabulary(*u.vault);
  absl::Status s =
      vocabulary.ok() ? ValidateTestimony(testimony, *vocabulary) : vocabulary.status();
  WipeMessage(testimony);
  return s;
}

absl::StatusOr<std::string> RecordTestimony(Unlocked& u, absl::string_view testimony_json,
                                            const TestimonyRequest& how) {
  const bool with_files = how.attachments != nullptr && !how.attachments->empty();
  if (how.as_draft && with_files) {
    return absl::InvalidArgumentError(
        "attachments go with sealing: attach when you seal the draft");
  }
  if (!how.draft_id.empty()) {
    // Refused before anything is sealed when the draft is gone (as `draft seal`).
    TEMOIN_ASSIGN_OR_RETURN(v1::Testimony stored, LoadDraft(*u.vault, how.draft_id));
    WipeMessage(stored);
  }
  TEMOIN_ASSIGN_OR_RETURN(v1::Testimony testimony, ParseTestimonyJson(testimony_json));
  ordered_json out;
  if (how.as_draft) {
    absl::StatusOr<std::string> id = SaveDraft(*u.vault, testimony, how.draft_id);
    WipeMessage(testimony);
    TEMOIN_RETURN_IF_ERROR(id.status());
    out["id"] = *id;
    out["state"] = "draft";
    out["attachments"] = 0;
    return out.dump();
  }
  SealOptions options;
  options.attach_in_memory = how.attachments;
  if (!how.draft_id.empty()) options.consumed_drafts = {how.draft_id};
  absl::StatusOr<std::vector<SealedRecord>> sealed =
      SealTestimonies(*u.vault, {testimony}, options);
  WipeMessage(testimony);
  TEMOIN_RETURN_IF_ERROR(sealed.status());
  out["id"] = ToHex(sealed->front().record_id);
  out["state"] = "sealed";
  out["attachments"] = with_files ? how.attachments->size() : 0;
  return out.dump();
}

absl::StatusOr<std::string> DraftsJson(Unlocked& u) {
  TEMOIN_ASSIGN_OR_RETURN(std::vector<std::string> ids, ListDrafts(*u.vault));
  ordered_json out;
  out["drafts"] = ordered_json::array();
  for (const std::string& id : ids) {
    TEMOIN_ASSIGN_OR_RETURN(v1::Testimony t, LoadDraft(*u.vault, id));
    ordered_json row;
    row["id"] = id;
    row["date"] = t.incident().date();
    row["region"] = t.incident().region();
    row["locality"] = t.incident().locality();
    // Whole UTF-8 characters only: cut before a continuation byte.
    size_t cut = std::min<size_t>(t.narrative().size(), 80);
    while (cut > 0 && cut < t.narrative().size() &&
           (static_cast<unsigned char>(t.narrative()[cut]) & 0xC0) == 0x80) {
      --cut;
    }
    row["narrative_start"] = t.narrative().substr(0, cut);
    WipeMessage(t);
    out["drafts"].push_back(std::move(row));
  }
  return out.dump();
}

absl::StatusOr<std::string> DraftJson(Unlocked& u, const std::string& id) {
  TEMOIN_ASSIGN_OR_RETURN(v1::Testimony testimony, LoadDraft(*u.vault, id));
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  const bool converted =
      google::protobuf::util::MessageToJsonString(testimony, &json, options).ok();
  WipeMessage(testimony);
  if (!converted) return absl::InternalError("draft does not convert to JSON");
  return json;
}

absl::StatusOr<std::string> OutboxJson(Unlocked& u) {
  TEMOIN_ASSIGN_OR_RETURN(v1::Profile profile, LoadProfile(*u.vault));
  TEMOIN_ASSIGN_OR_RETURN(auto counts, CountByState(*u.vault));
  ordered_json out;
  out["role"] = profile.role() == v1::ROLE_MONITOR    ? "monitor"
                : profile.role() == v1::ROLE_REVIEWER ? "reviewer"
                                                      : "admin";
  out["project"] = profile.project();
  out["records"] = ordered_json::object();
  for (const char* state : {"draft", "sealed", "committed", "received", "purged"}) {
    out["records"][state] = counts[state];
  }
  return out.dump();
}

namespace {

// The body's string field `name`, or "" (an absent or non-string field).
std::string StringField(const nlohmann::json& body, const char* name) {
  auto it = body.find(name);
  return it != body.end() && it->is_string() ? it->get<std::string>() : "";
}

absl::StatusOr<nlohmann::json> ParseObject(absl::string_view body) {
  nlohmann::json parsed = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!parsed.is_object()) return absl::InvalidArgumentError("expected a JSON object");
  return parsed;
}

}  // namespace

absl::StatusOr<std::string> DevicesJson(Unlocked& u) {
  TEMOIN_ASSIGN_OR_RETURN(v1::Profile profile, LoadProfile(*u.vault));
  TEMOIN_ASSIGN_OR_RETURN(std::vector<v1::DeviceInfo> devices, ListDevices(*u.vault));
  ordered_json out;
  out["self"] = ToHex(profile.device_id());
  out["devices"] = ordered_json::array();
  for (const v1::DeviceInfo& d : devices) {
    ordered_json row;
    row["id"] = ToHex(d.device_id());
    row["role"] = RoleName(d.role());
    row["project"] = d.project();
    row["state"] = d.state();
    row["enrolled_at"] = d.enrolled_at() ? ordered_json(FormatRfc3339(d.enrolled_at())) : nullptr;
    out["devices"].push_back(std::move(row));
  }
  return out.dump();
}

absl::StatusOr<std::string> InviteJson(Unlocked& u, absl::string_view body) {
  TEMOIN_ASSIGN_OR_RETURN(nlohmann::json in, ParseObject(body));
  const std::string role = StringField(in, "role"), project = StringField(in, "project");
  auto ttl = in.find("ttl_hours");
  const double ttl_hours = ttl == in.end() ? 24 : ttl->is_number() ? ttl->get<double>() : -1;
  TEMOIN_ASSIGN_OR_RETURN(std::string code, IssueInvite(*u.vault, role, project, ttl_hours));
  constexpr int kScale = 6;
  TEMOIN_ASSIGN_OR_RETURN(QrPng png, RenderQrPng(code, kScale));
  ordered_json out;
  out["code"] = code;
  out["role"] = role;
  out["project"] = project;
  out["ttl_hours"] = ttl_hours;
  out["qr_png_base64url"] = ToBase64Url(png.png);
  out["qr_side_px"] = (png.modules + 2 * kQrPngQuietModules) * kScale;
  return out.dump();
}

absl::StatusOr<std::string> GrantJson(Unlocked& u, absl::string_view body, bool grant) {
  TEMOIN_ASSIGN_OR_RETURN(nlohmann::json in, ParseObject(body));
  const std::string project = StringField(in, "project"), reviewer = StringField(in, "reviewer");
  if (project.empty() || reviewer.empty()) {
    return absl::InvalidArgumentError(R"(expected {"project": "...", "reviewer": "32 hex"})");
  }
  if (grant) {
    TEMOIN_RETURN_IF_ERROR(GrantProject(*u.vault, project, reviewer));
    return ordered_json{{"granted", true}}.dump();
  }
  TEMOIN_ASSIGN_OR_RETURN(uint32_t epoch, UngrantProject(*u.vault, project, reviewer));
  return ordered_json{{"ungranted", true}, {"epoch", epoch}}.dump();
}

absl::StatusOr<std::string> RevokeJson(Unlocked& u, absl::string_view body) {
  TEMOIN_ASSIGN_OR_RETURN(nlohmann::json in, ParseObject(body));
  const std::string device = StringField(in, "device");
  if (device.empty() || StringField(in, "confirm") != device) {
    return absl::InvalidArgumentError(
        R"(revoking needs confirmation: send {"device": id, "confirm": the same id})");
  }
  TEMOIN_ASSIGN_OR_RETURN(std::vector<std::string> rotated, RevokeDevice(*u.vault, device));
  return ordered_json{{"revoked", device}, {"rotated", rotated}}.dump();
}

absl::StatusOr<std::string> AuditJson(Unlocked& u) {
  ordered_json out;
  absl::StatusOr<AuditTrail> trail = FetchAuditTrail(*u.vault, /*verify=*/true);
  out["verified"] = trail.ok() && trail->verified;
  out["problem"] = "";
  if (!trail.ok()) {
    // A log that does not verify is still shown, marked, so the admin sees what the
    // server claims; any other failure (network, rights) is the answer.
    if (trail.status().code() != absl::StatusCode::kDataLoss) return trail.status();
    out["problem"] = std::string(trail.status().message());
    trail = FetchAuditTrail(*u.vault, /*verify=*/false);
    if (!trail.ok()) return trail.status();
  }
  out["entries"] = ordered_json::array();
  for (const v1::AuditEntry& e : trail->entries) {
    ordered_json row;
    row["index"] = e.index();
    row["time"] =
        absl::FormatTime("%Y-%m-%dT%H:%MZ", absl::FromUnixSeconds(e.time()), absl::UTCTimeZone());
    row["actor"] = e.actor_device_id().empty() ? "server" : ToHex(e.actor_device_id());
    row["action"] = e.action();
    row["object"] = e.object().empty() ? "" : ToHex(e.object());
    row["project"] = e.project();
    out["entries"].push_back(std::move(row));
  }
  return out.dump();
}

}  // namespace temoin::client::desk
