#include "server/log/log.h"

#include "gtest/gtest.h"

namespace temoin::server::log {
namespace {

constexpr int64_t kTime = 1'780'000'000;  // 2026-05-28T20:26:40Z

TEST(LogTest, TextLineHasTimeLevelEventAndFields) {
  EXPECT_EQ(FormatLine(Format::kText, kTime, Level::kInfo, "serving",
                       {{"org", "Synthetic Rights Org"}, {"port", 7443}}),
            "2026-05-28T20:26:40Z level=info event=serving org=\"Synthetic Rights Org\" "
            "port=7443");
}

TEST(LogTest, ValuesCannotForgeFieldsOrLines) {
  std::string line = FormatLine(Format::kText, kTime, Level::kWarning, "x",
                                {{"message", "a\nlevel=error event=forged \"q\""}});
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_NE(line.find("message=\"a\\nlevel=error event=forged \\\"q\\\"\""), std::string::npos)
      << line;
  EXPECT_EQ(FormatLine(Format::kText, kTime, Level::kInfo, "x", {{"empty", ""}}),
            "2026-05-28T20:26:40Z level=info event=x empty=\"\"");
}

TEST(LogTest, JsonLineIsOneObject) {
  EXPECT_EQ(FormatLine(Format::kJson, kTime, Level::kError, "internal_error",
                       {{"detail", "bad \"row\"\n"}}),
            "{\"time\":\"2026-05-28T20:26:40Z\",\"level\":\"error\",\"event\":\"internal_error\","
            "\"detail\":\"bad \\\"row\\\"\\n\"}");
}

TEST(LogTest, PeerAddressesAreLeftOutUnlessAllowed) {
  Configure(Format::kText, /*log_peer_addresses=*/false);
  EXPECT_EQ(PeerField("ipv4:203.0.113.7:51000").value, "omitted");
  Configure(Format::kText, /*log_peer_addresses=*/true);
  EXPECT_EQ(PeerField("ipv4:203.0.113.7:51000").value, "ipv4:203.0.113.7:51000");
  Configure(Format::kText, false);
}

}  // namespace
}  // namespace temoin::server::log
