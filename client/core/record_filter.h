#ifndef TEMOIN_CLIENT_CORE_RECORD_FILTER_H_
#define TEMOIN_CLIENT_CORE_RECORD_FILTER_H_

#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "client/core/review_desk.h"

// What a reviewer searches and filters opened records by. The rules live here, not in
// the desk or the CLI, so that every front end selects the same records. Works on
// decrypted records in memory; nothing is written anywhere.
namespace temoin::client {

struct RecordFilter {
  // Free text: every whitespace-separated word must occur, accent- and
  // case-insensitively, in the narrative, the locality or a victim's name.
  std::string text;
  // Incident date range, ISO 8601, either end may be partial ("2026-03") or empty. A
  // record whose (possibly partial) incident period overlaps the range matches; a record
  // with no incident date matches no range.
  std::string date_from, date_to;
  std::string region;       // vocabulary code
  std::string act;          // one of the record's act types
  std::string perpetrator;  // one of the record's perpetrators
  std::string source_type;
  // A listed victim of this sex / age group, or (for "female", "male", "child",
  // "adult") a non-zero matching count among victim_counts.
  std::string victim_sex;
  std::string victim_age_group;
  std::string sensitivity;  // "normal" (unspecified counts as normal) or "restricted"
  std::string device;       // device id, 32 lowercase hex

  bool empty() const;
};

// Lowercase, with the accents of Latin letters removed (precomposed U+00C0..U+017F and
// combining marks U+0300..U+036F), so that "Ségou", "segou" and "SEGOU" compare equal.
// Other characters pass through unchanged; invalid UTF-8 bytes are kept as they are.
std::string FoldForSearch(absl::string_view utf8);

// The folded text FilterMatches searches: narrative, locality and victims' names. It is
// plaintext: the caller wipes it (crypto::WipeString) when done.
std::string SearchableText(const OpenedRecord& record);

// `searchable` is SearchableText(record), computed once per record by the caller.
bool FilterMatches(const RecordFilter& filter, const OpenedRecord& record,
                   absl::string_view searchable);

}  // namespace temoin::client

#endif  // TEMOIN_CLIENT_CORE_RECORD_FILTER_H_
