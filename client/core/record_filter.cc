#include "client/core/record_filter.h"

#include <algorithm>

#include "absl/strings/str_split.h"
#include "common/encoding.h"
#include "crypto/secret_buffer.h"

namespace temoin::client {
namespace {

// Base letters of U+00C0..U+00FF and U+0100..U+017F (Latin-1 Supplement and Latin
// Extended-A); '\0' keeps the character (multiplication and division signs).
constexpr char kLatin1Base[] =
    "aaaaaaaceeeeiiiidnooooo\0ouuuuyts"
    "aaaaaaaceeeeiiiidnooooo\0ouuuuyty";
constexpr char kExtendedABase[] =
    "aaaaaaccccccccddddeeeeeeeeeegggggggghhhhiiiiiiiiiiiijjkkklllllll"
    "lllnnnnnnnnnoooooooorrrrrrssssssssttttttuuuuuuuuuuuuwwyyyzzzzzzs";

void AppendUtf8(uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// Decodes one UTF-8 sequence at `i`; returns its length, 0 when it is not valid.
size_t DecodeUtf8(absl::string_view s, size_t i, uint32_t& cp) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t length = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (length == 0 || i + length > s.size()) return 0;
  cp = length == 1 ? c : c & (0x7F >> length);
  for (size_t k = 1; k < length; ++k) {
    unsigned char next = static_cast<unsigned char>(s[i + k]);
    if ((next >> 6) != 2) return 0;
    cp = (cp << 6) | (next & 0x3F);
  }
  return length;
}

char FoldedLatin(uint32_t cp) {
  if (cp >= 0xC0 && cp <= 0xFF) return kLatin1Base[cp - 0xC0];
  if (cp >= 0x100 && cp <= 0x17F) return kExtendedABase[cp - 0x100];
  return '\0';
}

// Partial ISO dates compare as the periods they name: "2026-03" starts before
// "2026-03-01" and ends after "2026-03-31".
bool PeriodOverlaps(const std::string& start, const std::string& end, const RecordFilter& f) {
  if (!f.date_from.empty() && end + "\x7f" < f.date_from) return false;
  if (!f.date_to.empty() && start > f.date_to + "\x7f") return false;
  return true;
}

bool DateMatches(const v1::Incident& incident, const RecordFilter& f) {
  if (f.date_from.empty() && f.date_to.empty()) return true;
  if (incident.date().empty()) return false;
  const std::string& end = incident.end_date().empty() ? incident.date() : incident.end_date();
  return PeriodOverlaps(incident.date(), end, f);
}

// victim_counts carry sex and child/adult only: women, men, girls, boys.
uint32_t MatchingCount(const v1::VictimCounts& c, const std::string& sex, const std::string& age) {
  const bool child = age.empty() || age == "child";
  const bool adult = age.empty() || age == "adult";
  uint32_t n = 0;
  if (sex.empty() || sex == "female") n += (child ? c.girls() : 0) + (adult ? c.women() : 0);
  if (sex.empty() || sex == "male") n += (child ? c.boys() : 0) + (adult ? c.men() : 0);
  return n;
}

bool VictimsMatch(const v1::Testimony& t, const RecordFilter& f) {
  if (f.victim_sex.empty() && f.victim_age_group.empty()) return true;
  for (const v1::Victim& v : t.victims()) {
    if ((f.victim_sex.empty() || v.sex() == f.victim_sex) &&
        (f.victim_age_group.empty() || v.age_group() == f.victim_age_group)) {
      return true;
    }
  }
  return MatchingCount(t.victim_counts(), f.victim_sex, f.victim_age_group) > 0;
}

bool TextMatches(const std::string& text, absl::string_view searchable) {
  if (text.empty()) return true;
  std::string folded = FoldForSearch(text);
  for (absl::string_view word :
       absl::StrSplit(folded, absl::ByAnyChar(" \t\r\n"), absl::SkipEmpty())) {
    if (searchable.find(word) == absl::string_view::npos) return false;
  }
  return true;
}

bool Contains(const google::protobuf::RepeatedPtrField<std::string>& list, const std::string& v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

}  // namespace

bool RecordFilter::empty() const {
  return text.empty() && date_from.empty() && date_to.empty() && region.empty() && act.empty() &&
         perpetrator.empty() && source_type.empty() && victim_sex.empty() &&
         victim_age_group.empty() && sensitivity.empty() && device.empty();
}

std::string FoldForSearch(absl::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  for (size_t i = 0; i < utf8.size();) {
    uint32_t cp = 0;
    size_t length = DecodeUtf8(utf8, i, cp);
    if (length == 0) {
      out += utf8[i++];
      continue;
    }
    i += length;
    if (cp >= 0x300 && cp <= 0x36F) continue;  // combining accents (decomposed input)
    if (cp < 0x80) {
      out += static_cast<char>(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
    } else if (char base = FoldedLatin(cp); base != '\0') {
      out += base;
    } else {
      AppendUtf8(cp, out);
    }
  }
  return out;
}

std::string SearchableText(const OpenedRecord& record) {
  const v1::Testimony& t = record.testimony;
  std::string text = t.narrative();
  text += '\n';
  text += t.incident().locality();
  for (const v1::Victim& v : t.victims()) {
    text += '\n';
    text += v.name();
  }
  std::string folded = FoldForSearch(text);
  crypto::WipeString(text);
  return folded;
}

bool FilterMatches(const RecordFilter& f, const OpenedRecord& record,
                   absl::string_view searchable) {
  const v1::Testimony& t = record.testimony;
  if (!f.region.empty() && t.incident().region() != f.region) return false;
  if (!f.act.empty() && std::none_of(t.acts().begin(), t.acts().end(),
                                     [&](const v1::Act& a) { return a.type() == f.act; })) {
    return false;
  }
  if (!f.perpetrator.empty() && !Contains(t.perpetrators(), f.perpetrator)) return false;
  if (!f.source_type.empty() && t.source().type() != f.source_type) return false;
  if (!f.sensitivity.empty()) {
    bool restricted = t.sensitivity() == v1::SENSITIVITY_RESTRICTED;
    if ((f.sensitivity == "restricted") != restricted) return false;
  }
  if (!f.device.empty() && ToHex(record.device_id) != f.device) return false;
  return DateMatches(t.incident(), f) && VictimsMatch(t, f) && TextMatches(f.text, searchable);
}

}  // namespace temoin::client
