#ifndef TEMOIN_CLIENT_CLI_INTERACTIVE_RECORD_H_
#define TEMOIN_CLIENT_CLI_INTERACTIVE_RECORD_H_

#include <iosfwd>

#include "absl/status/statusor.h"
#include "temoin/v1/identity.pb.h"
#include "temoin/v1/testimony.pb.h"

// The guided `temoin record` on a terminal: one question at a time, the vocabulary's
// labels in French or English, each answer checked as it is given (a bad answer is
// asked again, with the reason), and at the end a choice to seal, keep as a draft, or
// cancel. Reads and writes only the given streams, so it is tested without a terminal.
namespace temoin::client::cli {

enum class Language { kFrench, kEnglish };

enum class RecordChoice { kSeal, kDraft, kCancel };

struct GuidedTestimony {
  v1::Testimony testimony;
  RecordChoice choice = RecordChoice::kCancel;
};

// kCancelled when the input ends before the last question (Ctrl-D).
absl::StatusOr<GuidedTestimony> AskTestimony(const v1::Vocabulary& vocabulary, Language language,
                                             std::istream& in, std::ostream& out);

// French when LANG/LC_ALL/LC_MESSAGES starts with "fr", else English; `flag` ("fr" or
// "en") wins when set.
Language PickLanguage(const std::string& flag);

}  // namespace temoin::client::cli

#endif  // TEMOIN_CLIENT_CLI_INTERACTIVE_RECORD_H_
