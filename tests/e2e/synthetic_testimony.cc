#include "tests/e2e/synthetic_testimony.h"

#include <cmath>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/util/json_util.h"

namespace temoin::e2e {
namespace {

// Codes from data/vocabulary.json. A subset is enough, as long as every one is valid.
constexpr const char* kActs[] = {"killing",
                                 "summary_execution",
                                 "enforced_disappearance",
                                 "abduction",
                                 "arbitrary_detention",
                                 "torture",
                                 "sexual_violence",
                                 "forced_displacement",
                                 "looting",
                                 "extortion",
                                 "illicit_taxation",
                                 "movement_restriction",
                                 "destruction_of_property",
                                 "air_strike",
                                 "explosive_device",
                                 "threat",
                                 "land_confiscation",
                                 "expression_repression",
                                 "other"};
constexpr const char* kPerpetrators[] = {
    "state_armed_forces",     "state_security_services", "foreign_military_partner",
    "traditional_hunters",    "community_militia",       "violent_extremist_group",
    "separatist_armed_group", "unidentified_armed_men",  "unknown"};
constexpr const char* kRegions[] = {"bamako",   "kayes",      "koulikoro", "sikasso", "segou",
                                    "mopti",    "tombouctou", "gao",       "kidal",   "menaka",
                                    "douentza", "bandiagara", "nioro",     "san",     "koutiala"};
constexpr const char* kSourceTypes[] = {"victim",    "eyewitness", "relative", "community_leader",
                                        "secondary", "document",   "media"};
constexpr const char* kSexes[] = {"female", "male", "other", "unknown"};
constexpr const char* kLanguages[] = {"fr", "bm", "ff", "son", "tmh", "en"};
constexpr const char* kCommunities[] = {
    "herders", "fishers", "farmers", "traders", "displaced families", ""};
constexpr int kPrecisions[] = {10, 50, 100, 500, 1000, 5000};

// Invented sentences in the register of the situation DESIGN.md describes. Accents,
// guillemets, commas and straight quotes make the JSON and CSV paths do real escaping;
// there is no newline, so that one CSV row stays one line.
constexpr const char* kSentences[] = {
    "Des hommes armés sont arrivés à l'aube sur des motos et ont encerclé le marché.",
    "Le témoin dit avoir vu trois camions sans plaque quitter le village vers le nord.",
    "Les habitants ont fui vers la ville voisine; certains n'ont pas encore été retrouvés.",
    "Selon la source, les greniers ont été incendiés et le bétail emporté.",
    "The witness heard shots for about twenty minutes, then silence.",
    "A checkpoint on the main road demanded a \"tax\" from every passenger, in cash.",
    "Les détenus ont été conduits vers un camp; leurs familles n'ont reçu aucune nouvelle.",
    "Le réseau téléphonique était coupé depuis des semaines, « personne ne pouvait appeler ».",
    "An improvised device exploded under a minibus on the track to the weekly fair.",
    "The source asked that her name be withheld, fearing reprisals against her children.",
    "Les écoles sont fermées depuis le blocus, et les routes sont minées par endroits.",
    "Plusieurs jeunes ont été emmenés de force, les mains liées, vers une destination inconnue.",
};

}  // namespace

std::string TestimonyGenerator::NarrativeMarker(uint32_t seed, int index) {
  return absl::StrCat("NARRATIVE-MARKER-", seed, "-", index);
}

std::string TestimonyGenerator::VictimName(uint32_t seed, int index, int victim) {
  return absl::StrCat("Synthname-", seed, "-", index, "-", victim);
}

std::string TestimonyGenerator::Locality(uint32_t seed, int index) {
  return absl::StrCat("Synthville-", seed, "-", index);
}

v1::Testimony TestimonyGenerator::Next() {
  const int index = next_index_++;
  v1::Testimony t;
  t.set_narrative(Narrative(index));
  t.set_language(Pick(kLanguages));
  FillIncident(index, t.mutable_incident());
  FillActsAndPerpetrators(&t);
  FillVictims(index, &t);
  t.mutable_source()->set_type(Pick(kSourceTypes));
  t.mutable_source()->set_anonymous(Chance(0.4));
  t.mutable_consent()->set_informed(Chance(0.9));
  t.mutable_consent()->set_share_with_courts(Chance(0.5));
  t.mutable_consent()->set_publish_anonymised(Chance(0.6));
  const int sensitivity = Uniform(0, 9);
  t.set_sensitivity(sensitivity < 2   ? v1::SENSITIVITY_UNSPECIFIED
                    : sensitivity < 8 ? v1::SENSITIVITY_NORMAL
                                      : v1::SENSITIVITY_RESTRICTED);
  if (Chance(0.1)) {  // a correction of an earlier record; only the id's form is checked
    std::string id;
    for (int i = 0; i < 32; ++i) id += "0123456789abcdef"[Uniform(0, 15)];
    t.set_amends(id);
  }
  return t;
}

std::string TestimonyGenerator::Narrative(int index) {
  std::string marker = NarrativeMarker(seed_, index);
  secrets_.push_back(marker);
  std::string narrative = absl::StrCat(marker, ". ");
  const int sentences = Uniform(1, 5);
  for (int i = 0; i < sentences; ++i) absl::StrAppend(&narrative, Pick(kSentences), " ");
  absl::StrAppend(&narrative, "(entretien n° ", Uniform(1, 999), ")");
  return narrative;
}

void TestimonyGenerator::FillIncident(int index, v1::Incident* incident) {
  const int year = Uniform(2024, 2026);
  const int month = Uniform(1, 12);
  const int day = Uniform(1, 20);
  switch (Uniform(0, 3)) {  // partial dates are common in testimonies taken later
    case 0:
      incident->set_date(absl::StrCat(year));
      break;
    case 1:
      incident->set_date(absl::StrFormat("%04d-%02d", year, month));
      break;
    case 2:
      incident->set_date(absl::StrFormat("%04d-%02d-%02d", year, month, day));
      incident->set_end_date(absl::StrFormat("%04d-%02d-%02d", year, month, day + Uniform(1, 8)));
      break;
    default:
      incident->set_date(absl::StrFormat("%04d-%02d-%02d", year, month, day));
  }
  incident->set_region(Pick(kRegions));
  std::string locality = Locality(seed_, index);
  secrets_.push_back(locality);
  incident->set_locality(locality);
  if (Chance(0.7)) {
    // Roughly Mali's extent, to GPS-like precision; the values must survive every
    // JSON and binary round trip exactly.
    auto coordinate = [this](double lo, double hi) {
      double x = std::uniform_real_distribution<double>(lo, hi)(rng_);
      return std::round(x * 1e5) / 1e5;
    };
    incident->set_latitude(coordinate(10.2, 24.9));
    incident->set_longitude(coordinate(-12.2, 4.2));
    incident->set_precision_m(static_cast<uint32_t>(Pick(kPrecisions)));
  }
}

void TestimonyGenerator::FillActsAndPerpetrators(v1::Testimony* t) {
  std::set<std::string> acts;
  const int act_count = Uniform(1, 4);
  while (static_cast<int>(acts.size()) < act_count) acts.insert(Pick(kActs));
  for (const std::string& type : acts) {
    v1::Act* act = t->add_acts();
    act->set_type(type);
    act->set_count(static_cast<uint32_t>(Uniform(0, 12)));
  }
  std::set<std::string> perpetrators;
  const int perpetrator_count = Uniform(0, 2);
  while (static_cast<int>(perpetrators.size()) < perpetrator_count) {
    perpetrators.insert(Pick(kPerpetrators));
  }
  for (const std::string& code : perpetrators) t->add_perpetrators(code);
}

void TestimonyGenerator::FillVictims(int index, v1::Testimony* t) {
  const int named = Chance(0.3) ? 0 : Uniform(1, 4);
  v1::VictimCounts* counts = t->mutable_victim_counts();
  for (int j = 0; j < named; ++j) {
    v1::Victim* victim = t->add_victims();
    std::string name = VictimName(seed_, index, j);
    secrets_.push_back(name);
    victim->set_name(name);
    victim->set_sex(Pick(kSexes));
    const int age = Chance(0.2) ? 0 : Uniform(2, 85);
    victim->set_age(static_cast<uint32_t>(age));
    victim->set_age_group(age == 0   ? "unknown"
                          : age < 18 ? "child"
                          : age < 60 ? "adult"
                                     : "elderly");
    victim->set_community(Pick(kCommunities));
    const bool child = age > 0 && age < 18;
    if (victim->sex() == "female") {
      child ? counts->set_girls(counts->girls() + 1) : counts->set_women(counts->women() + 1);
    } else if (victim->sex() == "male") {
      child ? counts->set_boys(counts->boys() + 1) : counts->set_men(counts->men() + 1);
    } else {
      counts->set_unknown(counts->unknown() + 1);
    }
  }
  // Unnamed victims are counted but not listed, as in most field reports.
  counts->set_unknown(counts->unknown() + static_cast<uint32_t>(Uniform(0, 6)));
  counts->set_total(counts->women() + counts->men() + counts->girls() + counts->boys() +
                    counts->unknown());
}

std::string TestimonyToJson(const v1::Testimony& testimony) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string json;
  // A Testimony has no Any or other field that can fail to print; an empty result
  // would make the test that uses it fail loudly anyway.
  if (!google::protobuf::util::MessageToJsonString(testimony, &json, options).ok()) return "";
  return json;
}

}  // namespace temoin::e2e
