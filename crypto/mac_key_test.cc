#include "crypto/mac_key.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "crypto/keys.h"

namespace temoin::crypto {
namespace {

TEST(MacKeyTest, SameBytesAsTheOneShotMacForShortAndLongMessages) {
  SecretBuffer key = SecretBuffer::Random(32);
  MacKey mac_key = MacKey::From(key);
  // Empty, under one block, across the 128-byte block boundary, several blocks.
  for (size_t size : {0, 1, 31, 111, 112, 127, 128, 129, 1000}) {
    const std::string message(size, static_cast<char>('a' + size % 26));
    EXPECT_EQ(mac_key.Mac(message), Mac(key, message)) << size << " bytes";
  }
}

// HMAC-SHA-512 cut to 32 bytes, computed with Python's hmac and hashlib (not libsodium):
// key 01 02 .. 20.
TEST(MacKeyTest, KnownAnswersComputedWithoutLibsodium) {
  std::string key_bytes;
  for (int i = 1; i <= 32; ++i) key_bytes.push_back(static_cast<char>(i));
  SecretBuffer key = SecretBuffer::CopyOf(key_bytes);
  MacKey mac_key = MacKey::From(key);
  auto hex = [](const std::string& bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) out += {kDigits[c >> 4], kDigits[c & 15]};
    return out;
  };
  EXPECT_EQ(hex(mac_key.Mac("")),
            "2ee866815c1465e400f19f5db90644355373a394132e3eca6da163118f8e6357");
  EXPECT_EQ(hex(mac_key.Mac("ns/outbox")),
            "b6de6c78627975582dfe40f4bb925604cb4f7ea896da2f46917d058422aa0058");
  EXPECT_EQ(hex(mac_key.Mac(std::string(200, 'a'))),
            "2f1df5b99e84ec2ead77836fc2a078bdb69a1f7ff599af260b39da427b07fafd");
}

TEST(MacKeyTest, AKeyOfTheWrongSizeIsAProgrammingError) {
  SecretBuffer short_key = SecretBuffer::Random(16);
  EXPECT_DEATH(MacKey::From(short_key), "");
}

TEST(MacKeyTest, UsingTheKeyDoesNotChangeIt) {
  SecretBuffer key = SecretBuffer::Random(32);
  MacKey mac_key = MacKey::From(key);
  const std::string first = mac_key.Mac("ns/outbox");
  mac_key.Mac("a message in between, which must not leak into the next");
  EXPECT_EQ(mac_key.Mac("ns/outbox"), first);
}

TEST(MacKeyTest, AnotherKeyOrMessageGivesAnotherMac) {
  SecretBuffer key = SecretBuffer::Random(32), other = SecretBuffer::Random(32);
  MacKey a = MacKey::From(key), b = MacKey::From(other);
  EXPECT_NE(a.Mac("ns/outbox"), b.Mac("ns/outbox"));
  EXPECT_NE(a.Mac("ns/outbox"), a.Mac("ns/outboy"));
  EXPECT_EQ(a.Mac("ns/outbox").size(), 32u);
}

TEST(MacKeyTest, ManyThreadsAtOnceGetTheOneShotBytes) {
  SecretBuffer key = SecretBuffer::Random(32);
  const MacKey mac_key = MacKey::From(key);
  std::vector<std::thread> threads;
  std::vector<int> wrong(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        const std::string message = "name/" + std::to_string(t * 100000 + i);
        if (mac_key.Mac(message) != Mac(key, message)) ++wrong[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace temoin::crypto
