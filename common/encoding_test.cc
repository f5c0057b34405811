#include "common/encoding.h"

#include "gtest/gtest.h"

namespace temoin {
namespace {

TEST(EncodingTest, HexRoundTripsAndRejectsBadDigits) {
  std::string bytes("\x00\x7f\xff", 3);
  EXPECT_EQ(ToHex(bytes), "007fff");
  EXPECT_EQ(*FromHex("007FFF", "id"), bytes);
  EXPECT_EQ(FromHex("0g", "id").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(FromHex("abc", "id").status().message(), "id is not valid hex");
}

TEST(EncodingTest, Base64UrlRoundTripsWithoutPadding) {
  std::string bytes("\xfb\xff\x01", 3);
  std::string text = ToBase64Url(bytes);
  EXPECT_EQ(text.find('='), std::string::npos);
  EXPECT_EQ(text.find('+'), std::string::npos);
  EXPECT_EQ(*FromBase64Url(text, "code"), bytes);
  EXPECT_FALSE(FromBase64Url("a*b", "code").ok());
}

TEST(EncodingTest, BigEndianSortsNumerically) {
  EXPECT_LT(EncodeU64BigEndian(255), EncodeU64BigEndian(256));
  EXPECT_EQ(DecodeU64BigEndian(EncodeU64BigEndian(0x0102030405060708ull)), 0x0102030405060708ull);
}

TEST(EncodingTest, FormatsRfc3339InUtc) { EXPECT_EQ(FormatRfc3339(0), "1970-01-01T00:00:00Z"); }

}  // namespace
}  // namespace temoin
