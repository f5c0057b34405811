#include "crypto/secret_buffer.h"

#include <gtest/gtest.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "crypto/sodium_init.h"
#include "crypto/test_util.h"

namespace temoin::crypto {
namespace {

TEST(SecretBufferTest, AllocateGivesZeroedBufferOfRequestedSize) {
  SecretBuffer buffer = SecretBuffer::Allocate(48);
  ASSERT_EQ(buffer.size(), 48u);
  EXPECT_EQ(buffer.ExposeSecret(), std::string(48, '\0'));
}

TEST(SecretBufferTest, AllocateZeroGivesEmptyBuffer) {
  SecretBuffer buffer = SecretBuffer::Allocate(0);
  EXPECT_TRUE(buffer.empty());
  EXPECT_EQ(buffer.data(), nullptr);
}

TEST(SecretBufferTest, RandomBuffersDiffer) {
  SecretBuffer a = SecretBuffer::Random(32);
  SecretBuffer b = SecretBuffer::Random(32);
  EXPECT_FALSE(a.Equals(b));
}

TEST(SecretBufferTest, CopyOfHoldsTheSameBytes) {
  SecretBuffer buffer = SecretBuffer::CopyOf("key material");
  EXPECT_EQ(buffer.ExposeSecret(), "key material");
}

TEST(SecretBufferTest, EqualsComparesLengthAndContents) {
  EXPECT_TRUE(SecretBuffer::CopyOf("abc").Equals(SecretBuffer::CopyOf("abc")));
  EXPECT_FALSE(SecretBuffer::CopyOf("abc").Equals(SecretBuffer::CopyOf("abd")));
  EXPECT_FALSE(SecretBuffer::CopyOf("abc").Equals(SecretBuffer::CopyOf("abcd")));
  EXPECT_TRUE(SecretBuffer().Equals(SecretBuffer()));
}

TEST(SecretBufferTest, MoveLeavesSourceEmpty) {
  SecretBuffer a = SecretBuffer::CopyOf("secret");
  SecretBuffer b = std::move(a);
  EXPECT_TRUE(a.empty());  // NOLINT(bugprone-use-after-move): the contract under test
  EXPECT_EQ(b.ExposeSecret(), "secret");
  SecretBuffer c = SecretBuffer::CopyOf("other");
  c = std::move(b);
  EXPECT_EQ(c.ExposeSecret(), "secret");
}

TEST(SecretBufferTest, WipeStringClearsTheString) {
  std::string plaintext = "testimony plaintext";
  WipeString(plaintext);
  EXPECT_TRUE(plaintext.empty());
}

TEST(SodiumInitTest, InitializeCryptoIsRepeatableAndDisablesCoreDumps) {
  ASSERT_TRUE(InitializeCrypto().ok());
  ASSERT_TRUE(InitializeCrypto().ok());
  struct rlimit limit = {};
  ASSERT_EQ(getrlimit(RLIMIT_CORE, &limit), 0);
  EXPECT_EQ(limit.rlim_cur, 0u);
  EXPECT_EQ(limit.rlim_max, 0u);
  EXPECT_EQ(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 0);
}

}  // namespace
}  // namespace temoin::crypto
