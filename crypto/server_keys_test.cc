#include "crypto/server_keys.h"

#include "absl/strings/str_replace.h"
#include "crypto/checkpoint.h"
#include "crypto/keys.h"
#include "gtest/gtest.h"

namespace temoin::crypto {
namespace {

const std::string kVkey = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";

ServerKeys Sample() {
  ServerKeys keys;
  keys.issued = 1'800'000'000;
  keys.receipt_keys.push_back({std::string(32, '\x11'), 0, 1'790'000'000});
  keys.receipt_keys.push_back({std::string(32, '\x22'), 1'780'000'000, std::nullopt});
  keys.log_keys.push_back({kVkey, 0, std::nullopt});
  return keys;
}

TEST(ServerKeysTest, FormatsTheDocumentedTextAndParsesItBack) {
  absl::StatusOr<std::string> body = FormatServerKeys(Sample());
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body, "temoin-server-keys/v1\nissued 1800000000\nreceipt " + std::string(64, '1') +
                       " 0 1790000000\nreceipt " + std::string(64, '2') + " 1780000000 -\nlog " +
                       kVkey + " 0 -\n");
  absl::StatusOr<ServerKeys> parsed = ParseServerKeys(*body);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->receipt_keys.size(), 2u);
  EXPECT_FALSE(parsed->receipt_keys[0].current());
  EXPECT_TRUE(parsed->receipt_keys[1].current());
  EXPECT_NE(parsed->FindLogKey(kVkey), nullptr);
  EXPECT_EQ(parsed->FindReceiptKey(std::string(32, '\x33')), nullptr);
}

TEST(ServerKeysTest, RefusesEveryNonCanonicalBody) {
  const std::string body = *FormatServerKeys(Sample());
  for (const std::string& bad : {
           absl::StrReplaceAll(body, {{"issued 1800000000", "issued 01800000000"}}),
           absl::StrReplaceAll(body, {{std::string(64, '1'), std::string(64, 'A')}}),
           absl::StrReplaceAll(body, {{" -\nlog", "  -\nlog"}}),
           absl::StrReplaceAll(body, {{"temoin-server-keys/v1", "temoin-server-keys/v2"}}),
           body.substr(0, body.size() - 1),
           body + "log " + kVkey + " 0 -\n",  // listed twice
           absl::StrReplaceAll(body, {{" 0 1790000000", " 1790000001 1790000000"}}),
           std::string("temoin-server-keys/v1\nissued 1\nlog ") + kVkey + " 0 -\n",  // no receipt
       }) {
    EXPECT_FALSE(ParseServerKeys(bad).ok()) << bad;
  }
}

TEST(ServerKeysTest, OnlyTheOrganisationKeySignatureVerifies) {
  SigningKey org = SigningKey::Generate();
  SigningKey stranger = SigningKey::Generate();
  const std::string body = *FormatServerKeys(Sample());
  EXPECT_TRUE(VerifyServerKeys(body, org.Sign(kServerKeysContext, body), org.public_key()).ok());
  EXPECT_EQ(VerifyServerKeys(body, stranger.Sign(kServerKeysContext, body), org.public_key())
                .status()
                .code(),
            absl::StatusCode::kUnauthenticated);
  // Another purpose's signature over the same bytes is not a statement.
  EXPECT_FALSE(VerifyServerKeys(body, org.Sign("temoin/tls-next/v1", body), org.public_key()).ok());
}

TEST(ServerKeysTest, AReceiptHourMustOverlapTheKeysValidity) {
  const CertifiedKey key{std::string(32, '\x11'), 10'000, 20'000};
  EXPECT_TRUE(key.CoversHour(7'200));   // 7200..10800 overlaps from 10000
  EXPECT_FALSE(key.CoversHour(3'600));  // ends at 7200, before from
  EXPECT_TRUE(key.CoversHour(18'000));
  EXPECT_FALSE(key.CoversHour(20'000));  // begins at until
  EXPECT_TRUE((CertifiedKey{"k", 0, std::nullopt}.CoversHour(1'900'000'000)));
}

}  // namespace
}  // namespace temoin::crypto
