#include "client/core/export.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "common/encoding.h"
#include "common/status_macros.h"
#include "google/protobuf/util/json_util.h"
#include "nlohmann/json.hpp"

namespace temoin::client {
namespace {

using nlohmann::ordered_json;

// proto3 cannot tell a coordinate of 0 from none, so JSON printed every testimony
// without coordinates at (0, 0), a point in the Gulf of Guinea that a map would show.
// The record says none were taken with precision_m 0; then they are null (an empty CSV
// cell), keeping the keys, and so the CSV columns, the same for every record.
void ShowAbsentCoordinatesAsAbsent(const v1::Testimony& testimony, ordered_json& json) {
  const v1::Incident& incident = testimony.incident();
  if (!json.contains("incident") || incident.precision_m() != 0 || incident.latitude() != 0 ||
      incident.longitude() != 0) {
    return;
  }
  for (const char* key : {"latitude", "longitude", "precision_m"}) json["incident"][key] = nullptr;
}

absl::StatusOr<ordered_json> ToJson(const OpenedRecord& record) {
  std::string testimony_json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  auto status =
      google::protobuf::util::MessageToJsonString(record.testimony, &testimony_json, options);
  if (!status.ok()) return absl::InternalError("testimony does not convert to JSON");
  ordered_json element;
  element["record_id"] = ToHex(record.record_id);
  element["project"] = record.project;
  element["device_id"] = ToHex(record.device_id);
  element["device_seq"] = record.device_seq;
  element["received_at"] = FormatRfc3339(record.received_at);
  // Never silent: a record whose chain of trust fails is exported, marked, with why.
  element["verified"] = record.verified;
  element["unverified_reason"] = record.unverified_reason;
  // Sent after its device signalled duress (issue 12): marked, never silently mixed in.
  // Only when set, so exports without such records keep their columns.
  if (record.quarantined) element["quarantined"] = true;
  element["testimony"] = ordered_json::parse(testimony_json);
  ShowAbsentCoordinatesAsAbsent(record.testimony, element["testimony"]);
  return element;
}

void Flatten(const ordered_json& value, const std::string& path,
             std::vector<std::pair<std::string, const ordered_json*>>& out) {
  if (value.is_object()) {
    for (auto it = value.begin(); it != value.end(); ++it) {
      Flatten(it.value(), path.empty() ? it.key() : absl::StrCat(path, ".", it.key()), out);
    }
  } else if (value.is_array()) {
    for (size_t i = 0; i < value.size(); ++i) Flatten(value[i], absl::StrCat(path, ".", i), out);
  } else {
    out.emplace_back(path, &value);
  }
}

}  // namespace

std::string CsvCell(const std::string& text, bool is_text) {
  std::string cell = text;
  if (is_text && !cell.empty() &&
      (cell[0] == '=' || cell[0] == '+' || cell[0] == '-' || cell[0] == '@' || cell[0] == '\t' ||
       cell[0] == '\r')) {
    cell.insert(cell.begin(), '\'');
  }
  if (cell.find_first_of(",\"\r\n") == std::string::npos) return cell;
  std::string quoted = "\"";
  for (char c : cell) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

absl::StatusOr<std::string> ExportJson(const std::vector<OpenedRecord>& records) {
  ordered_json array = ordered_json::array();
  for (const OpenedRecord& record : records) {
    TEMOIN_ASSIGN_OR_RETURN(ordered_json element, ToJson(record));
    array.push_back(std::move(element));
  }
  return array.dump(2) + "\n";
}

absl::StatusOr<std::string> RecordJson(const OpenedRecord& record) {
  TEMOIN_ASSIGN_OR_RETURN(ordered_json element, ToJson(record));
  return element.dump(2) + "\n";
}

absl::StatusOr<std::string> ExportCsv(const std::vector<OpenedRecord>& records) {
  std::vector<ordered_json> elements;
  std::vector<std::string> columns;
  std::map<std::string, size_t> column_index;
  std::vector<std::vector<std::pair<std::string, const ordered_json*>>> rows;
  elements.reserve(records.size());
  for (const OpenedRecord& record : records) {
    TEMOIN_ASSIGN_OR_RETURN(ordered_json element, ToJson(record));
    elements.push_back(std::move(element));
  }
  for (const ordered_json& element : elements) {
    std::vector<std::pair<std::string, const ordered_json*>> cells;
    Flatten(element, "", cells);
    for (const auto& [path, value] : cells) {
      if (column_index.emplace(path, columns.size()).second) columns.push_back(path);
    }
    rows.push_back(std::move(cells));
  }
  std::string out;
  for (size_t i = 0; i < columns.size(); ++i) {
    absl::StrAppend(&out, i ? "," : "", CsvCell(columns[i], false));
  }
  out += "\r\n";
  for (const auto& cells : rows) {
    std::vector<std::string> line(columns.size());
    for (const auto& [path, value] : cells) {
      line[column_index[path]] = value->is_string()
                                     ? CsvCell(value->get<std::string>(), true)
                                     : CsvCell(value->is_null() ? "" : value->dump(), false);
    }
    for (size_t i = 0; i < line.size(); ++i) absl::StrAppend(&out, i ? "," : "", line[i]);
    out += "\r\n";
  }
  return out;
}

}  // namespace temoin::client
