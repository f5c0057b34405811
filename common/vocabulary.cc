#include "common/vocabulary.h"

#include <array>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/status_macros.h"
#include "google/protobuf/util/json_util.h"

namespace temoin {
namespace {

using TermList = google::protobuf::RepeatedPtrField<v1::Term>;

struct NamedList {
  absl::string_view name;  // the proto field name, as messages print it
  const TermList* terms;
};

std::array<NamedList, 6> ListsOf(const v1::Vocabulary& vocab) {
  return {{{"acts", &vocab.acts()},
           {"perpetrators", &vocab.perpetrators()},
           {"regions", &vocab.regions()},
           {"source_types", &vocab.source_types()},
           {"sexes", &vocab.sexes()},
           {"age_groups", &vocab.age_groups()}}};
}

// Protobuf 3.21's reasons are not safe to pass on as they are: a wrong-typed field gives
// "(path): invalid value <the value> for type T", and a syntax error appends the input
// around the error on later lines. Either may be testimony text or key bytes. Keep what
// protobuf derived from the schema (the field path) and its fixed first-line text only.
std::string RedactJsonError(absl::string_view reason) {
  constexpr absl::string_view kInvalidValue = "invalid value";
  if (size_t pos = reason.find(kInvalidValue); pos != absl::string_view::npos) {
    return absl::StrCat(reason.substr(0, pos), kInvalidValue);
  }
  return std::string(reason.substr(0, reason.find('\n')));
}

// Unknown fields are refused so that a typo in a field name is an error, not a silently
// dropped value.
template <typename Message>
absl::StatusOr<Message> ParseJson(absl::string_view json, absl::string_view what) {
  Message message;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &message, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " json: ", RedactJsonError(status.message().ToString())));
  }
  return message;
}

bool IsValidCode(absl::string_view code) {
  if (code.empty() || code.size() > kMaxCodeBytes) return false;
  for (char c : code) {
    if (!(absl::ascii_islower(c) || absl::ascii_isdigit(c) || c == '_')) return false;
  }
  return true;
}

absl::Status CheckList(absl::string_view name, const TermList& terms) {
  if (terms.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("vocabulary ", name, ": empty list"));
  }
  absl::flat_hash_set<absl::string_view> seen;
  for (int i = 0; i < terms.size(); ++i) {
    const v1::Term& term = terms[i];
    std::string path = absl::StrCat("vocabulary ", name, "[", i, "]");
    if (!IsValidCode(term.code())) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ".code: must be 1 to ", kMaxCodeBytes, " characters of [a-z0-9_]"));
    }
    if (!seen.insert(term.code()).second) {
      return absl::InvalidArgumentError(absl::StrCat(path, ".code: duplicate code"));
    }
    if (term.label_fr().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ".label_fr: empty label"));
    }
    if (term.label_en().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ".label_en: empty label"));
    }
  }
  return absl::OkStatus();
}

// Lists are a few dozen codes at most, so a linear scan beats building a set per call.
bool Contains(const TermList& terms, absl::string_view code) {
  for (const v1::Term& term : terms) {
    if (term.code() == code) return true;
  }
  return false;
}

// The value is deliberately left out of the message: a free-text slip into a code
// field could be a name or a place that must not reach a log.
absl::Status CheckCode(absl::string_view path, absl::string_view code, const TermList& allowed,
                       bool required) {
  if (code.empty() && !required) return absl::OkStatus();
  if (!code.empty() && Contains(allowed, code)) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(path,
                                                 code.empty() ? ": missing code" : ": unknown code",
                                                 "; allowed: ", DescribeVocabularyList(allowed)));
}

bool ParseDigits(absl::string_view s, size_t pos, size_t n, int* out) {
  int value = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (!absl::ascii_isdigit(s[i])) return false;
    value = value * 10 + (s[i] - '0');
  }
  *out = value;
  return true;
}

int DaysInMonth(int year, int month) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

// ISO 8601 calendar dates of reduced precision: "YYYY", "YYYY-MM" or "YYYY-MM-DD".
bool IsPartialIsoDate(absl::string_view s) {
  int year = 0, month = 0, day = 0;
  if (s.size() != 4 && s.size() != 7 && s.size() != 10) return false;
  if (!ParseDigits(s, 0, 4, &year)) return false;
  if (s.size() == 4) return true;
  if (s[4] != '-' || !ParseDigits(s, 5, 2, &month) || month < 1 || month > 12) return false;
  if (s.size() == 7) return true;
  if (s[7] != '-' || !ParseDigits(s, 8, 2, &day)) return false;
  return day >= 1 && day <= DaysInMonth(year, month);
}

absl::Status CheckDate(absl::string_view path, absl::string_view date) {
  if (date.empty() || IsPartialIsoDate(date)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": not an ISO 8601 date; expected YYYY, YYYY-MM or YYYY-MM-DD"));
}

// Written so that NaN fails too.
absl::Status CheckRange(absl::string_view path, double value, double limit) {
  if (value >= -limit && value <= limit) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat(path, ": out of range; expected -", limit, " to ", limit));
}

bool IsRecordIdHex(absl::string_view s) {
  if (s.size() != 32) return false;
  for (char c : s) {
    if (!(absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Sizes first: they are cheap and bound the work of the per-item checks.
absl::Status CheckLimits(const v1::Testimony& t) {
  if (t.narrative().size() > kMaxNarrativeBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("narrative: too long; at most ", kMaxNarrativeBytes, " bytes"));
  }
  if (t.victims_size() > kMaxVictims) {
    return absl::InvalidArgumentError(absl::StrCat("victims: too many; at most ", kMaxVictims));
  }
  if (t.acts_size() > kMaxActs) {
    return absl::InvalidArgumentError(absl::StrCat("acts: too many; at most ", kMaxActs));
  }
  return absl::OkStatus();
}

absl::Status CheckIncident(const v1::Incident& incident, const v1::Vocabulary& vocab) {
  TEMOIN_RETURN_IF_ERROR(CheckDate("incident.date", incident.date()));
  TEMOIN_RETURN_IF_ERROR(CheckDate("incident.end_date", incident.end_date()));
  TEMOIN_RETURN_IF_ERROR(
      CheckCode("incident.region", incident.region(), vocab.regions(), /*required=*/false));
  TEMOIN_RETURN_IF_ERROR(CheckRange("incident.latitude", incident.latitude(), 90));
  return CheckRange("incident.longitude", incident.longitude(), 180);
}

}  // namespace

absl::StatusOr<v1::Vocabulary> ParseVocabulary(absl::string_view json) {
  TEMOIN_ASSIGN_OR_RETURN(v1::Vocabulary vocab, ParseJson<v1::Vocabulary>(json, "vocabulary"));
  for (const NamedList& list : ListsOf(vocab)) {
    TEMOIN_RETURN_IF_ERROR(CheckList(list.name, *list.terms));
  }
  return vocab;
}

absl::StatusOr<v1::Vocabulary> DefaultVocabulary() {
  return ParseVocabulary(DefaultVocabularyJson());
}

std::string DescribeVocabularyList(const google::protobuf::RepeatedPtrField<v1::Term>& terms) {
  return absl::StrJoin(terms, ", ",
                       [](std::string* out, const v1::Term& term) { out->append(term.code()); });
}

absl::Status ValidateTestimony(const v1::Testimony& t, const v1::Vocabulary& vocab) {
  TEMOIN_RETURN_IF_ERROR(CheckLimits(t));
  TEMOIN_RETURN_IF_ERROR(CheckIncident(t.incident(), vocab));
  for (int i = 0; i < t.acts_size(); ++i) {
    TEMOIN_RETURN_IF_ERROR(CheckCode(absl::StrCat("acts[", i, "].type"), t.acts(i).type(),
                                     vocab.acts(), /*required=*/true));
  }
  for (int i = 0; i < t.perpetrators_size(); ++i) {
    TEMOIN_RETURN_IF_ERROR(CheckCode(absl::StrCat("perpetrators[", i, "]"), t.perpetrators(i),
                                     vocab.perpetrators(), /*required=*/true));
  }
  for (int i = 0; i < t.victims_size(); ++i) {
    const v1::Victim& victim = t.victims(i);
    TEMOIN_RETURN_IF_ERROR(CheckCode(absl::StrCat("victims[", i, "].sex"), victim.sex(),
                                     vocab.sexes(), /*required=*/false));
    TEMOIN_RETURN_IF_ERROR(CheckCode(absl::StrCat("victims[", i, "].age_group"), victim.age_group(),
                                     vocab.age_groups(), /*required=*/false));
  }
  TEMOIN_RETURN_IF_ERROR(
      CheckCode("source.type", t.source().type(), vocab.source_types(), /*required=*/false));
  if (!t.amends().empty() && !IsRecordIdHex(t.amends())) {
    return absl::InvalidArgumentError(
        "amends: expected a record id of 32 lowercase hex characters, or empty");
  }
  return absl::OkStatus();
}

absl::StatusOr<v1::Testimony> ParseTestimonyJson(absl::string_view json) {
  return ParseJson<v1::Testimony>(json, "testimony");
}

}  // namespace temoin
