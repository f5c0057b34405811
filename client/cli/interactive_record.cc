#include "client/cli/interactive_record.h"

#include <cstdlib>
#include <istream>
#include <optional>
#include <ostream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/vocabulary.h"

namespace temoin::client::cli {
namespace {

using Terms = google::protobuf::RepeatedPtrField<v1::Term>;

class Interview {
 public:
  Interview(Language language, std::istream& in, std::ostream& out)
      : fr_(language == Language::kFrench), in_(in), out_(out) {}

  const char* T(const char* fr, const char* en) const { return fr_ ? fr : en; }

  // One line; std::nullopt at end of input.
  std::optional<std::string> Line(const std::string& question) {
    out_ << question << " " << std::flush;
    std::string line;
    if (!std::getline(in_, line)) return std::nullopt;
    return std::string(absl::StripAsciiWhitespace(line));
  }

  // Lines until one holding only "." (or end of input).
  std::optional<std::string> Text(const std::string& question) {
    out_ << question << "\n"
         << T("(terminez par une ligne ne contenant qu'un point)",
              "(end with a line holding only a dot)")
         << "\n";
    std::string text, line;
    bool any = false;
    while (std::getline(in_, line)) {
      any = true;
      if (absl::StripAsciiWhitespace(line) == ".") return text;
      if (!text.empty()) text += "\n";
      text += line;
    }
    if (!any) return std::nullopt;
    return text;
  }

  // A term by number or code; empty allowed when `optional`.
  std::optional<std::string> Choose(const std::string& question, const Terms& terms,
                                    bool optional) {
    for (int i = 0; i < terms.size(); ++i) {
      out_ << "  " << (i + 1) << ". " << (fr_ ? terms[i].label_fr() : terms[i].label_en()) << "\n";
    }
    for (;;) {
      std::optional<std::string> answer =
          Line(question + (optional ? T(" (vide : passer)", " (empty: skip)") : ""));
      if (!answer.has_value()) return std::nullopt;
      if (answer->empty() && optional) return std::string();
      int n = 0;
      if (absl::SimpleAtoi(*answer, &n) && n >= 1 && n <= terms.size()) return terms[n - 1].code();
      for (const v1::Term& term : terms) {
        if (term.code() == *answer) return term.code();
      }
      out_ << T("Réponse non reconnue : donnez un numéro de la liste.",
                "Not recognised: give a number from the list.")
           << "\n";
    }
  }

  std::optional<uint32_t> Number(const std::string& question, uint32_t max) {
    for (;;) {
      std::optional<std::string> answer = Line(question);
      if (!answer.has_value()) return std::nullopt;
      if (answer->empty()) return 0;
      uint32_t n = 0;
      if (absl::SimpleAtoi(*answer, &n) && n <= max) return n;
      out_ << T("Donnez un nombre entier.", "Give a whole number.") << "\n";
    }
  }

  std::optional<bool> YesNo(const std::string& question) {
    for (;;) {
      std::optional<std::string> answer = Line(question + T(" (o/n)", " (y/n)"));
      if (!answer.has_value()) return std::nullopt;
      std::string a = absl::AsciiStrToLower(*answer);
      if (a == "o" || a == "oui" || a == "y" || a == "yes") return true;
      if (a == "n" || a == "non" || a == "no") return false;
    }
  }

  std::ostream& out() { return out_; }

 private:
  const bool fr_;
  std::istream& in_;
  std::ostream& out_;
};

absl::Status Ended() { return absl::CancelledError("recording cancelled; nothing was saved"); }

// A field validated as it is given: re-asked until ValidateTestimony accepts it.
bool DateIsValid(const std::string& date, const v1::Vocabulary& vocabulary) {
  v1::Testimony probe;
  probe.mutable_incident()->set_date(date);
  return ValidateTestimony(probe, vocabulary).ok() ||
         ValidateTestimony(probe, vocabulary).message().find("incident.date") == std::string::npos;
}

}  // namespace

Language PickLanguage(const std::string& flag) {
  if (flag == "fr") return Language::kFrench;
  if (flag == "en") return Language::kEnglish;
  for (const char* name : {"LC_ALL", "LC_MESSAGES", "LANG"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') {
      return std::string(value).rfind("fr", 0) == 0 ? Language::kFrench : Language::kEnglish;
    }
  }
  return Language::kEnglish;
}

absl::StatusOr<GuidedTestimony> AskTestimony(const v1::Vocabulary& vocabulary, Language language,
                                             std::istream& in, std::ostream& out) {
  Interview ask(language, in, out);
  GuidedTestimony result;
  v1::Testimony& t = result.testimony;

  auto narrative = ask.Text(ask.T("Récit du témoin :", "The witness's account:"));
  if (!narrative.has_value()) return Ended();
  t.set_narrative(*narrative);
  auto lang = ask.Line(
      ask.T("Langue du récit (fr, bm, ff, ...) :", "Language of the account (fr, bm, ff, ...):"));
  if (!lang.has_value()) return Ended();
  t.set_language(*lang);

  for (;;) {
    auto date =
        ask.Line(ask.T("Date des faits (AAAA, AAAA-MM ou AAAA-MM-JJ ; vide : inconnue) :",
                       "Date of the events (YYYY, YYYY-MM or YYYY-MM-DD; empty: unknown):"));
    if (!date.has_value()) return Ended();
    if (DateIsValid(*date, vocabulary)) {
      t.mutable_incident()->set_date(*date);
      break;
    }
    ask.out() << ask.T("Date invalide.", "Not a valid date.") << "\n";
  }
  auto region = ask.Choose(ask.T("Région :", "Region:"), vocabulary.regions(), true);
  if (!region.has_value()) return Ended();
  t.mutable_incident()->set_region(*region);
  auto locality = ask.Line(ask.T("Localité :", "Locality:"));
  if (!locality.has_value()) return Ended();
  t.mutable_incident()->set_locality(*locality);

  for (;;) {
    auto act = ask.Choose(ask.T("Acte :", "Act:"), vocabulary.acts(), !t.acts().empty());
    if (!act.has_value()) return Ended();
    if (act->empty()) break;
    auto count = ask.Number(ask.T("Nombre de cas :", "How many:"), 100000);
    if (!count.has_value()) return Ended();
    v1::Act* added = t.add_acts();
    added->set_type(*act);
    added->set_count(*count);
    ask.out() << ask.T("Autre acte ?", "Another act?") << "\n";
  }
  for (;;) {
    auto perpetrator = ask.Choose(ask.T("Auteur présumé :", "Alleged perpetrator:"),
                                  vocabulary.perpetrators(), true);
    if (!perpetrator.has_value()) return Ended();
    if (perpetrator->empty()) break;
    t.add_perpetrators(*perpetrator);
  }
  auto victims =
      ask.Number(ask.T("Nombre total de victimes :", "Total number of victims:"), 1000000);
  if (!victims.has_value()) return Ended();
  t.mutable_victim_counts()->set_total(*victims);
  auto source = ask.Choose(ask.T("Source :", "Source:"), vocabulary.source_types(), true);
  if (!source.has_value()) return Ended();
  t.mutable_source()->set_type(*source);
  auto anonymous =
      ask.YesNo(ask.T("La source reste-t-elle anonyme ?", "Does the source stay anonymous?"));
  if (!anonymous.has_value()) return Ended();
  t.mutable_source()->set_anonymous(*anonymous);
  auto informed = ask.YesNo(ask.T("Consentement éclairé donné ?", "Informed consent given?"));
  if (!informed.has_value()) return Ended();
  t.mutable_consent()->set_informed(*informed);
  auto courts =
      ask.YesNo(ask.T("Partage avec la justice accepté ?", "May it be shared with courts?"));
  if (!courts.has_value()) return Ended();
  t.mutable_consent()->set_share_with_courts(*courts);
  auto restricted =
      ask.YesNo(ask.T("Dossier sensible (accès restreint) ?", "Restricted (sensitive) record?"));
  if (!restricted.has_value()) return Ended();
  t.set_sensitivity(*restricted ? v1::SENSITIVITY_RESTRICTED : v1::SENSITIVITY_NORMAL);

  if (absl::Status s = ValidateTestimony(t, vocabulary); !s.ok()) return s;
  for (;;) {
    auto choice = ask.Line(ask.T("[s]celler, garder en [b]rouillon, ou [a]nnuler ?",
                                 "[s]eal, keep as [d]raft, or [c]ancel?"));
    if (!choice.has_value()) return Ended();
    std::string c = absl::AsciiStrToLower(*choice);
    if (c == "s")
      result.choice = RecordChoice::kSeal;
    else if (c == "b" || c == "d")
      result.choice = RecordChoice::kDraft;
    else if (c == "a" || c == "c")
      result.choice = RecordChoice::kCancel;
    else
      continue;
    return result;
  }
}

}  // namespace temoin::client::cli
