#include "common/vocabulary.h"

#include <cmath>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace temoin {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

const v1::Vocabulary& Vocab() {
  static const v1::Vocabulary* vocab = [] {
    absl::StatusOr<v1::Vocabulary> parsed = DefaultVocabulary();
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    return new v1::Vocabulary(parsed.ok() ? *parsed : v1::Vocabulary());
  }();
  return *vocab;
}

std::vector<std::string> Codes(const google::protobuf::RepeatedPtrField<v1::Term>& terms) {
  std::vector<std::string> codes;
  for (const v1::Term& term : terms) codes.push_back(term.code());
  return codes;
}

const v1::Term* FindTerm(const google::protobuf::RepeatedPtrField<v1::Term>& terms,
                         absl::string_view code) {
  for (const v1::Term& term : terms) {
    if (term.code() == code) return &term;
  }
  return nullptr;
}

TEST(DefaultVocabularyTest, ShippedFileParsesWithEveryCodeInOrder) {
  const v1::Vocabulary& vocab = Vocab();
  EXPECT_EQ(vocab.version(), 1u);
  EXPECT_THAT(
      Codes(vocab.acts()),
      ::testing::ElementsAre("killing", "summary_execution", "enforced_disappearance", "abduction",
                             "arbitrary_detention", "torture", "sexual_violence", "rape",
                             "forced_marriage", "child_recruitment", "attack_on_humanitarian",
                             "forced_displacement", "looting", "extortion", "illicit_taxation",
                             "movement_restriction", "destruction_of_property", "air_strike",
                             "explosive_device", "corporal_punishment", "threat", "discrimination",
                             "land_confiscation", "expression_repression", "other"));
  EXPECT_THAT(
      Codes(vocab.perpetrators()),
      ::testing::ElementsAre("state_armed_forces", "state_security_services",
                             "foreign_military_partner", "traditional_hunters", "community_militia",
                             "violent_extremist_group", "separatist_armed_group",
                             "unidentified_armed_men", "civilian", "other", "unknown"));
  EXPECT_THAT(Codes(vocab.regions()),
              ::testing::ElementsAre("bamako", "kayes", "koulikoro", "sikasso", "segou", "mopti",
                                     "tombouctou", "gao", "kidal", "taoudenit", "menaka",
                                     "bougouni", "dioila", "douentza", "kita", "nara", "nioro",
                                     "san", "koutiala", "bandiagara"));
  EXPECT_THAT(Codes(vocab.source_types()),
              ::testing::ElementsAre("victim", "eyewitness", "relative", "community_leader",
                                     "secondary", "document", "media"));
  EXPECT_THAT(Codes(vocab.sexes()), ::testing::ElementsAre("female", "male", "other", "unknown"));
  EXPECT_THAT(Codes(vocab.age_groups()),
              ::testing::ElementsAre("child", "adult", "elderly", "unknown"));
  EXPECT_EQ(vocab.acts_size(), 25);
  EXPECT_EQ(vocab.perpetrators_size(), 11);
  EXPECT_EQ(vocab.regions_size(), 20);
  EXPECT_EQ(vocab.source_types_size(), 7);
  EXPECT_EQ(vocab.sexes_size(), 4);
  EXPECT_EQ(vocab.age_groups_size(), 4);
}

TEST(DefaultVocabularyTest, FrenchLabelsKeepTheirAccents) {
  const v1::Vocabulary& vocab = Vocab();
  ASSERT_NE(FindTerm(vocab.acts(), "summary_execution"), nullptr);
  EXPECT_EQ(FindTerm(vocab.acts(), "summary_execution")->label_fr(), "Exécution sommaire");
  ASSERT_NE(FindTerm(vocab.regions(), "segou"), nullptr);
  EXPECT_EQ(FindTerm(vocab.regions(), "segou")->label_fr(), "Ségou");
  EXPECT_EQ(FindTerm(vocab.regions(), "menaka")->label_fr(), "Ménaka");
  EXPECT_EQ(FindTerm(vocab.regions(), "tombouctou")->label_fr(), "Tombouctou");
  EXPECT_EQ(FindTerm(vocab.regions(), "tombouctou")->label_en(), "Timbuktu");
}

TEST(DefaultVocabularyTest, DescribeListsCodesInOrder) {
  EXPECT_EQ(DescribeVocabularyList(Vocab().sexes()), "female, male, other, unknown");
}

// A testimony that uses every checked field with valid values.
v1::Testimony ValidTestimony() {
  v1::Testimony t;
  t.set_narrative("Des hommes armés sont arrivés au marché.");
  t.set_language("fr");
  v1::Incident* incident = t.mutable_incident();
  incident->set_date("2026-02-28");
  incident->set_end_date("2026-03");
  incident->set_region("menaka");
  incident->set_latitude(15.9);
  incident->set_longitude(2.4);
  t.add_acts()->set_type("killing");
  t.add_acts()->set_type("looting");
  v1::Victim* victim = t.add_victims();
  victim->set_sex("female");
  victim->set_age_group("adult");
  t.add_victims();  // sex and age group unknown: empty is allowed
  t.add_perpetrators("unidentified_armed_men");
  t.mutable_source()->set_type("eyewitness");
  t.set_amends("0123456789abcdef0123456789abcdef");
  return t;
}

TEST(ValidateTestimonyTest, AcceptsValidTestimony) {
  EXPECT_TRUE(ValidateTestimony(ValidTestimony(), Vocab()).ok());
}

TEST(ValidateTestimonyTest, AcceptsEmptyOptionalFields) {
  v1::Testimony t;
  t.add_acts()->set_type("other");
  EXPECT_TRUE(ValidateTestimony(t, Vocab()).ok());
  EXPECT_TRUE(ValidateTestimony(v1::Testimony(), Vocab()).ok());
}

TEST(ValidateTestimonyTest, AcceptsLeapDayAndPartialDates) {
  v1::Testimony t = ValidTestimony();
  for (const char* date : {"2024-02-29", "2000-02-29", "2026", "2026-12", "2026-12-31"}) {
    t.mutable_incident()->set_date(date);
    EXPECT_TRUE(ValidateTestimony(t, Vocab()).ok()) << date;
  }
}

// Each case breaks one field of a valid testimony with a distinctive value, and checks
// the message names the path (and the allowed codes) but never echoes the value.
struct Violation {
  const char* name;
  void (*mutate)(v1::Testimony*);
  const char* path;
  const char* allowed;  // prefix of the allowed list, or "" when not a code field
  const char* secret;   // the offending value, which must not appear in the message
};

const Violation kViolations[] = {
    {"UnknownActType", [](v1::Testimony* t) { t->mutable_acts(1)->set_type("Amadou_Kone"); },
     "acts[1].type: unknown code", "allowed: killing, summary_execution, ", "Amadou_Kone"},
    {"MissingActType", [](v1::Testimony* t) { t->add_acts(); }, "acts[2].type: missing code",
     "allowed: killing, summary_execution, ", ""},
    {"UnknownPerpetrator", [](v1::Testimony* t) { t->add_perpetrators("colonel_x_unit"); },
     "perpetrators[1]: unknown code", "allowed: state_armed_forces, state_security_services, ",
     "colonel_x_unit"},
    {"UnknownRegion", [](v1::Testimony* t) { t->mutable_incident()->set_region("Hombori"); },
     "incident.region: unknown code", "allowed: bamako, kayes, koulikoro, ", "Hombori"},
    {"UnknownSourceType",
     [](v1::Testimony* t) { t->mutable_source()->set_type("informant_fatoumata"); },
     "source.type: unknown code", "allowed: victim, eyewitness, relative, ", "informant_fatoumata"},
    {"UnknownVictimSex", [](v1::Testimony* t) { t->mutable_victims(1)->set_sex("femme"); },
     "victims[1].sex: unknown code", "allowed: female, male, other, unknown", "femme"},
    {"UnknownVictimAgeGroup",
     [](v1::Testimony* t) { t->mutable_victims(0)->set_age_group("teen_14"); },
     "victims[0].age_group: unknown code", "allowed: child, adult, elderly, unknown", "teen_14"},
    {"BadDate", [](v1::Testimony* t) { t->mutable_incident()->set_date("14/03/2026"); },
     "incident.date: not an ISO 8601 date", "", "14/03/2026"},
    {"BadMonth", [](v1::Testimony* t) { t->mutable_incident()->set_date("2026-13"); },
     "incident.date: not an ISO 8601 date", "", "2026-13"},
    {"BadDay", [](v1::Testimony* t) { t->mutable_incident()->set_date("2026-04-31"); },
     "incident.date: not an ISO 8601 date", "", "2026-04-31"},
    {"NotLeapDay", [](v1::Testimony* t) { t->mutable_incident()->set_date("2025-02-29"); },
     "incident.date: not an ISO 8601 date", "", "2025-02-29"},
    {"DayZero", [](v1::Testimony* t) { t->mutable_incident()->set_date("2026-03-00"); },
     "incident.date: not an ISO 8601 date", "", "2026-03-00"},
    {"DateWithTime", [](v1::Testimony* t) { t->mutable_incident()->set_date("2026-03-14T10:00"); },
     "incident.date: not an ISO 8601 date", "", "2026-03-14T10:00"},
    {"BadEndDate", [](v1::Testimony* t) { t->mutable_incident()->set_end_date("mars 2026"); },
     "incident.end_date: not an ISO 8601 date", "", "mars 2026"},
    {"LatitudeTooHigh", [](v1::Testimony* t) { t->mutable_incident()->set_latitude(91.25); },
     "incident.latitude: out of range", "", "91.25"},
    {"LatitudeNaN", [](v1::Testimony* t) { t->mutable_incident()->set_latitude(std::nan("")); },
     "incident.latitude: out of range", "", "nan"},
    {"LongitudeTooLow", [](v1::Testimony* t) { t->mutable_incident()->set_longitude(-180.5); },
     "incident.longitude: out of range", "", "180.5"},
    {"AmendsUppercase", [](v1::Testimony* t) { t->set_amends("0123456789ABCDEF0123456789ABCDEF"); },
     "amends:", "", "0123456789ABCDEF"},
    {"AmendsTooShort", [](v1::Testimony* t) { t->set_amends("deadbeef"); }, "amends:", "",
     "deadbeef"},
    {"NarrativeTooLong",
     [](v1::Testimony* t) { t->set_narrative(std::string(kMaxNarrativeBytes + 1, 'z')); },
     "narrative: too long", "", "zzzz"},
    {"TooManyVictims",
     [](v1::Testimony* t) {
       while (t->victims_size() <= kMaxVictims) t->add_victims();
     },
     "victims: too many", "", ""},
    {"TooManyActs",
     [](v1::Testimony* t) {
       while (t->acts_size() <= kMaxActs) t->add_acts()->set_type("killing");
     },
     "acts: too many", "", ""},
};

class ViolationTest : public ::testing::TestWithParam<Violation> {};

TEST_P(ViolationTest, RefusedWithFieldPathAndWithoutValue) {
  const Violation& v = GetParam();
  v1::Testimony t = ValidTestimony();
  v.mutate(&t);
  absl::Status status = ValidateTestimony(t, Vocab());
  ASSERT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  std::string message(status.message());
  EXPECT_THAT(message, StartsWith(v.path));
  EXPECT_THAT(message, HasSubstr(v.allowed));
  EXPECT_EQ(message.find('\n'), std::string::npos);
  if (*v.secret != '\0') {
    EXPECT_THAT(message, Not(HasSubstr(v.secret)));
  }
}

INSTANTIATE_TEST_SUITE_P(AllViolations, ViolationTest, ::testing::ValuesIn(kViolations),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ValidateTestimonyTest, UnknownCodeListsEveryAllowedCode) {
  v1::Testimony t = ValidTestimony();
  t.mutable_incident()->set_region("x");
  absl::Status status = ValidateTestimony(t, Vocab());
  EXPECT_EQ(status.message(),
            "incident.region: unknown code; allowed: " + DescribeVocabularyList(Vocab().regions()));
  EXPECT_THAT(std::string(status.message()), AllOf(HasSubstr("bandiagara"), HasSubstr("segou")));
}

TEST(ValidateTestimonyTest, ReportsTheFirstViolation) {
  v1::Testimony t = ValidTestimony();
  t.mutable_acts(0)->set_type("bad");
  t.mutable_acts(1)->set_type("worse");
  EXPECT_THAT(std::string(ValidateTestimony(t, Vocab()).message()), StartsWith("acts[0].type"));
}

TEST(ValidateTestimonyTest, BoundaryLimitsAreAccepted) {
  v1::Testimony t = ValidTestimony();
  t.set_narrative(std::string(kMaxNarrativeBytes, 'a'));
  t.mutable_incident()->set_latitude(-90);
  t.mutable_incident()->set_longitude(180);
  while (t.acts_size() < kMaxActs) t.add_acts()->set_type("other");
  while (t.victims_size() < kMaxVictims) t.add_victims();
  EXPECT_TRUE(ValidateTestimony(t, Vocab()).ok());
}

// A minimal valid vocabulary, as JSON, with one list replaced by `acts`.
std::string VocabularyJson(absl::string_view acts) {
  std::string term = R"([{"code": "a", "labelFr": "A", "labelEn": "A"}])";
  return absl::StrCat(R"({"version": 1, "acts": )", acts, R"(, "perpetrators": )", term,
                      R"(, "regions": )", term, R"(, "sourceTypes": )", term, R"(, "sexes": )",
                      term, R"(, "age_groups": )", term, "}");
}

TEST(ParseVocabularyTest, AcceptsMinimalVocabularyInEitherFieldNaming) {
  EXPECT_TRUE(
      ParseVocabulary(VocabularyJson(R"([{"code": "x_1", "label_fr": "X", "label_en": "X"}])"))
          .ok());
}

TEST(ParseVocabularyTest, RefusesDuplicateCode) {
  absl::Status status =
      ParseVocabulary(VocabularyJson(R"([{"code": "x", "labelFr": "X", "labelEn": "X"},
                                         {"code": "x", "labelFr": "Y", "labelEn": "Y"}])"))
          .status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "vocabulary acts[1].code: duplicate code");
}

TEST(ParseVocabularyTest, RefusesUppercaseCode) {
  absl::Status status =
      ParseVocabulary(VocabularyJson(R"([{"code": "Killing", "labelFr": "X", "labelEn": "X"}])"))
          .status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), StartsWith("vocabulary acts[0].code:"));
}

TEST(ParseVocabularyTest, RefusesOverlongAndEmptyCodes) {
  std::string long_code(kMaxCodeBytes + 1, 'a');
  EXPECT_EQ(ParseVocabulary(VocabularyJson(absl::StrCat(R"([{"code": ")", long_code,
                                                        R"(", "labelFr": "X", "labelEn": "X"}])")))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      ParseVocabulary(VocabularyJson(R"([{"labelFr": "X", "labelEn": "X"}])")).status().code(),
      absl::StatusCode::kInvalidArgument);
}

TEST(ParseVocabularyTest, RefusesEmptyList) {
  absl::Status status = ParseVocabulary(VocabularyJson("[]")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "vocabulary acts: empty list");
}

TEST(ParseVocabularyTest, RefusesEmptyLabel) {
  absl::Status status =
      ParseVocabulary(VocabularyJson(R"([{"code": "x", "labelFr": "X"}])")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "vocabulary acts[0].label_en: empty label");
}

TEST(ParseVocabularyTest, RefusesMalformedJson) {
  EXPECT_EQ(ParseVocabulary(R"({"version": 1, "colours": []})").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseVocabulary(R"({"version": 1, "acts": [)").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ParseTestimonyJsonTest, ParsesValidJson) {
  absl::StatusOr<v1::Testimony> t = ParseTestimonyJson(
      R"({"narrative": "n", "incident": {"date": "2026-03", "region": "gao"},
          "acts": [{"type": "looting", "count": 3}], "perpetrators": ["unknown"],
          "sensitivity": "SENSITIVITY_RESTRICTED"})");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->acts(0).count(), 3u);
  EXPECT_EQ(t->sensitivity(), v1::SENSITIVITY_RESTRICTED);
  EXPECT_TRUE(ValidateTestimony(*t, Vocab()).ok());
}

TEST(ParseTestimonyJsonTest, RefusesUnknownField) {
  absl::Status status = ParseTestimonyJson(R"({"narrative": "n", "witness_phone": "1"})").status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), StartsWith("testimony json: "));
}

TEST(ParseTestimonyJsonTest, RefusesWrongType) {
  EXPECT_EQ(ParseTestimonyJson(R"({"acts": "killing"})").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseTestimonyJson(R"({"incident": {"latitude": "north"}})").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseTestimonyJson(R"({"acts": [{"count": -1}]})").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ParseTestimonyJsonTest, RefusesTruncatedJson) {
  EXPECT_EQ(ParseTestimonyJson(R"({"narrative": "n", "acts": [{"type": "kil)").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseTestimonyJson("").status().code(), absl::StatusCode::kInvalidArgument);
}

// Protobuf's own reasons quote the rejected value and the input around a syntax error;
// neither may reach the message.
TEST(ParseTestimonyJsonTest, ErrorsNeverQuoteTheInput) {
  struct Case {
    const char* json;
    const char* expected;
    const char* secret;
  };
  const Case kCases[] = {
      {R"({"attachments": [{"key": "not*base64 SECRETKEY"}]})",
       "testimony json: (attachments[0].key): invalid value", "SECRETKEY"},
      {R"({"incident": {"latitude": "north of Aguelhok"}})",
       "testimony json: (incident.latitude): invalid value", "Aguelhok"},
      {R"({"narrative": 12345678})", "testimony json: (narrative): invalid value", "12345678"},
      {R"({"narrative": "Moussa was taken" "acts": []})",
       "testimony json: Expected , or } after key:value pair.", "Moussa"},
      {"{\"narrative\": \"Aminata \xff\"}", "testimony json: Encountered non UTF-8 code points.",
       "Aminata"},
  };
  for (const Case& c : kCases) {
    absl::Status status = ParseTestimonyJson(c.json).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.json;
    EXPECT_EQ(status.message(), c.expected) << c.json;
    EXPECT_THAT(std::string(status.message()), Not(HasSubstr(c.secret)));
  }
}

}  // namespace
}  // namespace temoin
