#ifndef TEMOIN_CLIENT_CORE_EXPORT_H_
#define TEMOIN_CLIENT_CORE_EXPORT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/core/review_desk.h"

// Reviewer exports (DESIGN.md "Command line"). JSON: one array; each element has
// record_id (32 lowercase hex), project, device_id, device_seq, received_at (RFC 3339)
// and testimony (proto3 JSON, the proto's snake_case names, default values printed so
// that every export has the same shape). CSV: one row per record, the same columns with
// nested fields flattened by dotted path (victims.0.name), the union of all paths as
// the header.
namespace temoin::client {

absl::StatusOr<std::string> ExportJson(const std::vector<OpenedRecord>& records);
absl::StatusOr<std::string> ExportCsv(const std::vector<OpenedRecord>& records);
// One record, pretty-printed, as in the JSON export.
absl::StatusOr<std::string> RecordJson(const OpenedRecord& record);

// RFC 4180 quoting, and a leading apostrophe for text cells that a spreadsheet would
// run as a formula (=, +, -, @, tab, CR): a narrative is attacker-influenced text.
std::string CsvCell(const std::string& text, bool is_text);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_CORE_EXPORT_H_
