#ifndef TEMOIN_COMMON_VOCABULARY_H_
#define TEMOIN_COMMON_VOCABULARY_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "temoin/v1/identity.pb.h"
#include "temoin/v1/testimony.pb.h"

namespace temoin {

// The controlled vocabulary: the codes a testimony may use for acts, perpetrators,
// regions, source types, sexes and age groups, each with French and English labels.
// All functions here are thread-safe (they share no mutable state).

// Limits ValidateTestimony() enforces.
// Context of crypto::Hash256 over a serialized Vocabulary: a device sends the hash of
// the one it holds, and the server resends the vocabulary only when it differs.
inline constexpr char kVocabularyHashContext[] = "temoin/vocabulary/v1";
// Context of crypto::Hash256 over a GetSettingsResponse holding only its project keys
// and bundle key (all bytes fields, so the serialization is canonical): like the
// vocabulary, they are resent only when this hash differs from the device's.
inline constexpr char kSettingsKeysHashContext[] = "temoin/settings-keys/v1";

inline constexpr size_t kMaxCodeBytes = 64;
inline constexpr size_t kMaxNarrativeBytes = 256 * 1024;
inline constexpr int kMaxVictims = 10'000;
inline constexpr int kMaxActs = 1'000;

// The proto3 JSON of data/vocabulary.json, embedded at build time. Static storage;
// valid for the life of the program.
absl::string_view DefaultVocabularyJson();

// Parses the proto3 JSON form of temoin.v1.Vocabulary (unknown fields refused) and
// checks it: every list is non-empty; every code is 1..kMaxCodeBytes characters of
// [a-z0-9_] and unique within its list; both labels are non-empty.
// `json` is untrusted. kInvalidArgument naming the list and index (e.g.
// "vocabulary regions[3].code: duplicate code"), or "vocabulary json: <parser's reason>"
// (redacted as for ParseTestimonyJson), on any failure.
absl::StatusOr<v1::Vocabulary> ParseVocabulary(absl::string_view json);

// ParseVocabulary(DefaultVocabularyJson()). Fails only if the shipped file is broken,
// which vocabulary_test guards against.
absl::StatusOr<v1::Vocabulary> DefaultVocabulary();

// "code1, code2, ..." in vocabulary order, as error messages list the allowed codes.
std::string DescribeVocabularyList(const google::protobuf::RepeatedPtrField<v1::Term>& terms);

// Checks an untrusted testimony against `vocab` (which must have passed
// ParseVocabulary): every code field is in its list (acts[i].type is required; the
// others may be empty), dates are empty or ISO 8601 "YYYY", "YYYY-MM" or "YYYY-MM-DD",
// coordinates are in range, `amends` is empty or 32 lowercase hex characters, and the
// narrative, victims and acts are within the limits above.
// OK, or kInvalidArgument for the first violation, as one line naming the field path and,
// for codes, listing the allowed ones: "acts[1].type: unknown code; allowed: killing, ...".
// Messages never contain the offending value, which may be sensitive.
absl::Status ValidateTestimony(const v1::Testimony& t, const v1::Vocabulary& vocab);

// Parses the proto3 JSON form of temoin.v1.Testimony; unknown fields are refused.
// `json` is untrusted. kInvalidArgument "testimony json: <parser's reason>" on failure,
// one line that may name a field (or an unknown key) but never quotes a value or the
// input around a syntax error. Does not call ValidateTestimony().
absl::StatusOr<v1::Testimony> ParseTestimonyJson(absl::string_view json);

}  // namespace temoin

#endif  // TEMOIN_COMMON_VOCABULARY_H_
