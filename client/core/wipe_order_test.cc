// Wipe orders on the device: only an order signed by the pinned organisation key and
// naming this device wipes the vault; anything else leaves it untouched.
#include "client/core/wipe_order.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "client/vault/vault.h"
#include "crypto/sodium_init.h"

namespace temoin::client {
namespace {

constexpr char kPassphrase[] = "correct horse battery staple";
const std::string kDeviceId(16, '\x11');
const std::string kOtherDeviceId(16, '\x22');
constexpr int64_t kNow = 1'780'000'000;

class WipeOrderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::InitializeCrypto().ok());
    setenv("TEMOIN_VAULT_UNLOCK_MS", "1", /*overwrite=*/0);  // no 1.5 s calibration
    home_ = (std::filesystem::temp_directory_path() /
             ("temoin-wipe-order-" + std::to_string(::getpid()) + "-" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name()))
                .string();
    std::filesystem::remove_all(home_);
    auto vault = Vault::Create(home_, kPassphrase);
    ASSERT_TRUE(vault.ok()) << vault.status();
    ASSERT_TRUE((*vault)->Put("profile", "marker", "synthetic").ok());
  }
  void TearDown() override { std::filesystem::remove_all(home_); }

  // The vault still opens with its passphrase and still holds what was put in it.
  void ExpectVaultIntact() {
    EXPECT_TRUE(std::filesystem::exists(home_ + "/vault.key"));
    auto vault = Vault::Open(home_, kPassphrase);
    ASSERT_TRUE(vault.ok()) << vault.status();
    auto marker = (*vault)->Get("profile", "marker");
    ASSERT_TRUE(marker.ok()) << marker.status();
    EXPECT_EQ(marker->value_or(""), "synthetic");
  }

  bool Obey(const std::string& order_bytes) {
    absl::StatusOr<bool> wiped = ObeyIfValid(home_, order_bytes, org_.public_key(), kDeviceId);
    EXPECT_TRUE(wiped.ok()) << wiped.status();
    return wiped.value_or(true);
  }

  const crypto::SigningKey org_ = crypto::SigningKey::Generate();
  std::string home_;
};

TEST_F(WipeOrderTest, ValidOrderWipesTheVault) {
  EXPECT_TRUE(Obey(SignWipeOrder(org_, kDeviceId, kNow).SerializeAsString()));
  EXPECT_FALSE(std::filesystem::exists(home_ + "/vault.key"));
  EXPECT_FALSE(std::filesystem::exists(home_ + "/store"));
  EXPECT_EQ(Vault::Open(home_, kPassphrase).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(WipeOrderTest, OrderSignedByAnotherKeyIsIgnored) {
  // E.g. a seized server's own key: it chains to nothing the device pinned.
  crypto::SigningKey impostor = crypto::SigningKey::Generate();
  EXPECT_FALSE(Obey(SignWipeOrder(impostor, kDeviceId, kNow).SerializeAsString()));
  EXPECT_EQ(VerifyWipeOrder(SignWipeOrder(impostor, kDeviceId, kNow).SerializeAsString(),
                            org_.public_key(), kDeviceId)
                .message(),
            "wipe order is not valid for this device");
  ExpectVaultIntact();
}

TEST_F(WipeOrderTest, OrderNamingAnotherDeviceIsIgnored) {
  EXPECT_FALSE(Obey(SignWipeOrder(org_, kOtherDeviceId, kNow).SerializeAsString()));
  ExpectVaultIntact();
}

TEST_F(WipeOrderTest, MalformedOrTamperedOrdersAreIgnored) {
  v1::WipeOrder valid = SignWipeOrder(org_, kDeviceId, kNow);

  v1::WipeOrder tampered_body = valid;
  tampered_body.mutable_body()->back() ^= 0x01;
  v1::WipeOrder truncated_signature = valid;
  truncated_signature.mutable_org_signature()->resize(32);
  v1::WipeOrder no_signature = valid;
  no_signature.clear_org_signature();
  // A genuine organisation signature made for another purpose (another context).
  v1::WipeOrder other_context = valid;
  other_context.set_org_signature(org_.Sign("temoin/grant/v1", valid.body()));

  for (const std::string& bytes :
       {std::string(), std::string("\xff\xff\xff\xff", 4), std::string("not a wipe order"),
        tampered_body.SerializeAsString(), truncated_signature.SerializeAsString(),
        no_signature.SerializeAsString(), other_context.SerializeAsString(),
        valid.SerializeAsString().substr(0, valid.ByteSizeLong() / 2)}) {
    EXPECT_FALSE(Obey(bytes));
  }
  ExpectVaultIntact();
}

}  // namespace
}  // namespace temoin::client
