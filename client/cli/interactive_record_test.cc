#include "client/cli/interactive_record.h"

#include <sstream>

#include "common/vocabulary.h"
#include "gtest/gtest.h"

namespace temoin::client::cli {
namespace {

TEST(InteractiveRecordTest, GuidesThroughEveryQuestionAndReasksBadAnswers) {
  v1::Vocabulary vocabulary = *DefaultVocabulary();
  std::istringstream in(
      "Synthetic account, line one.\n"
      "line two.\n"
      ".\n"
      "fr\n"
      "2026-13-01\n"  // bad month: asked again
      "2026-03-14\n"
      "6\n"  // region 6 = mopti
      "Synthville\n"
      "999\n"        // not in the list: asked again
      "abduction\n"  // by code
      "3\n"
      "\n"   // no more acts
      "8\n"  // unidentified_armed_men
      "\n"
      "3\n"
      "2\n"  // eyewitness
      "o\n"
      "oui\n"
      "n\n"
      "n\n"
      "s\n");
  std::ostringstream out;
  absl::StatusOr<GuidedTestimony> guided = AskTestimony(vocabulary, Language::kFrench, in, out);
  ASSERT_TRUE(guided.ok()) << guided.status();
  const v1::Testimony& t = guided->testimony;
  EXPECT_EQ(t.narrative(), "Synthetic account, line one.\nline two.");
  EXPECT_EQ(t.incident().date(), "2026-03-14");
  EXPECT_EQ(t.incident().region(), "mopti");
  ASSERT_EQ(t.acts_size(), 1);
  EXPECT_EQ(t.acts(0).type(), "abduction");
  EXPECT_EQ(t.acts(0).count(), 3u);
  ASSERT_EQ(t.perpetrators_size(), 1);
  EXPECT_EQ(t.perpetrators(0), "unidentified_armed_men");
  EXPECT_EQ(t.source().type(), "eyewitness");
  EXPECT_TRUE(t.source().anonymous());
  EXPECT_TRUE(t.consent().informed());
  EXPECT_EQ(t.sensitivity(), v1::SENSITIVITY_NORMAL);
  EXPECT_EQ(guided->choice, RecordChoice::kSeal);
  EXPECT_NE(out.str().find("Date invalide"), std::string::npos);
  EXPECT_NE(out.str().find("Enlèvement"), std::string::npos);  // French labels shown
}

TEST(InteractiveRecordTest, EndOfInputCancelsAndSavesNothing) {
  std::istringstream in("Only a narrative\n.\nfr\n");
  std::ostringstream out;
  absl::StatusOr<GuidedTestimony> guided =
      AskTestimony(*DefaultVocabulary(), Language::kEnglish, in, out);
  EXPECT_EQ(guided.status().code(), absl::StatusCode::kCancelled);
}

TEST(InteractiveRecordTest, LanguageFlagWinsOverTheLocale) {
  EXPECT_EQ(PickLanguage("fr"), Language::kFrench);
  EXPECT_EQ(PickLanguage("en"), Language::kEnglish);
}

}  // namespace
}  // namespace temoin::client::cli
