// The owed-proof bookkeeping: marked before a record is sent, unmarked once its proof
// verified, kept across a reopened vault (a sync cut between receipts and proofs), and
// forgotten for a record the outbox no longer holds.

#include "client/core/owed_proofs.h"

#include <stdlib.h>

#include "client/core/outbox.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "temoin/v1/client_store.pb.h"

namespace temoin::client {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(OwedProofsTest, OwedUntilProvenAcrossAReopenedVault) {
  std::string pattern = ::testing::TempDir() + "/temoin_owed_XXXXXX";
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  const std::string home = pattern + "/home";
  {
    absl::StatusOr<std::unique_ptr<Vault>> vault = Vault::Create(home, "passphrase");
    ASSERT_TRUE(vault.ok()) << vault.status();
    absl::StatusOr<std::vector<std::string>> none = OwedProofs(**vault);
    ASSERT_TRUE(none.ok()) << none.status();
    EXPECT_THAT(*none, IsEmpty());
    v1::OutboxEntry entry;
    entry.set_device_seq(1);
    for (const char* id : {"record-a", "record-b", "record-c"}) {
      ASSERT_TRUE((*vault)->Put(kOutboxNs, id, entry.SerializeAsString()).ok());
    }
    ASSERT_TRUE(MarkProofsOwed(**vault, {"record-c", "record-a", "record-b", "gone"}).ok());
    // "gone" has no outbox entry: nothing this device holds could prove it.
    absl::StatusOr<std::vector<std::string>> owed = OwedProofs(**vault);
    ASSERT_TRUE(owed.ok()) << owed.status();
    EXPECT_THAT(*owed, ElementsAre("record-a", "record-b", "record-c"));
    ASSERT_TRUE(MarkProven(**vault, {"record-b"}).ok());
  }
  // The process ended between the receipts and the proofs: still owed when reopened.
  absl::StatusOr<std::unique_ptr<Vault>> reopened = Vault::Open(home, "passphrase");
  ASSERT_TRUE(reopened.ok()) << reopened.status();
  absl::StatusOr<std::vector<std::string>> owed = OwedProofs(**reopened);
  ASSERT_TRUE(owed.ok()) << owed.status();
  EXPECT_THAT(*owed, ElementsAre("record-a", "record-c"));
  ASSERT_TRUE(MarkProven(**reopened, {"record-a", "record-c"}).ok());
  owed = OwedProofs(**reopened);
  ASSERT_TRUE(owed.ok());
  EXPECT_THAT(*owed, IsEmpty());
}

}  // namespace
}  // namespace temoin::client
