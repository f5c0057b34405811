#include "client/vault/vault.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <iterator>
#include <optional>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "client/vault/cover_file.h"
#include "client/vault/key_file_lock.h"
#include "client/vault/key_file_store.h"
#include "client/vault/vault_wipe.h"
#include "common/file_util.h"
#include "crypto/keys.h"
#include "crypto/sodium_init.h"
#include "gtest/gtest.h"
#include "rocksdb/db.h"
#include "temoin/v1/client_store.pb.h"

namespace temoin::client {
namespace {

namespace fs = std::filesystem;
constexpr char kPassphrase[] = "correct horse battery staple";

class VaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(crypto::InitializeCrypto().ok());
    home_ = (fs::temp_directory_path() /
             ("vault_test_" + std::to_string(::getpid()) + "_" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name()))
                .string();
    fs::remove_all(home_);
  }
  void TearDown() override { fs::remove_all(home_); }

  std::unique_ptr<Vault> MustCreate() {
    absl::StatusOr<std::unique_ptr<Vault>> vault = Vault::Create(home_, kPassphrase);
    EXPECT_TRUE(vault.ok()) << vault.status();
    return vault.ok() ? std::move(*vault) : nullptr;
  }
  // At the floor cost: for tests of what unlocks do, not of how long they take.
  std::unique_ptr<Vault> MustCreateCheap() {
    absl::StatusOr<std::unique_ptr<Vault>> vault =
        Vault::Create(home_, kPassphrase, VaultOptions{kKdfFloor});
    EXPECT_TRUE(vault.ok()) << vault.status();
    return vault.ok() ? std::move(*vault) : nullptr;
  }

  // A new vault held by one Vault while another thread's Vault::Open waits for its store;
  // once it waits, `meanwhile` runs and the holder lets go. The open's result.
  absl::StatusOr<std::unique_ptr<Vault>> OpenWaitingAcross(const std::function<void()>& meanwhile) {
    std::unique_ptr<Vault> holder = MustCreateCheap();
    if (holder == nullptr) return absl::InternalError("no vault to hold");
    std::atomic<bool> waiting{false};
    std::future<absl::StatusOr<std::unique_ptr<Vault>>> opened =
        std::async(std::launch::async,
                   [&] { return Vault::Open(home_, kPassphrase, [&] { waiting = true; }); });
    absl::Cleanup let_go = [&] { holder.reset(); };  // before `opened` joins, whatever happens
    for (int i = 0; i < 600 && !waiting; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!waiting) return absl::InternalError("the open did not wait for the held store");
    meanwhile();
    std::move(let_go).Invoke();
    return opened.get();
  }

  // Every byte of every file under home, concatenated.
  std::string AllBytes() {
    std::string all;
    for (const auto& entry : fs::recursive_directory_iterator(home_)) {
      if (!entry.is_regular_file()) continue;
      std::ifstream in(entry.path(), std::ios::binary);
      all.append(std::istreambuf_iterator<char>(in), {});
    }
    return all;
  }

  // Rewrites one stored value through RocksDB directly, as an attacker with the disk would.
  void TamperRaw(const std::function<void(rocksdb::DB*)>& edit) {
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), home_ + "/store", &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    edit(db.get());
  }

  std::string KeyFileBytes() { return ReadFileToString(home_ + "/vault.key").value_or(""); }

  // The KeyFile the paged file's current record holds.
  static v1::KeyFile Payload(const std::string& key_file_bytes) {
    absl::StatusOr<StoredKeyFile> stored = DecodeKeyFile(key_file_bytes);
    EXPECT_TRUE(stored.ok()) << stored.status();
    v1::KeyFile file;
    if (stored.ok()) {
      EXPECT_TRUE(file.ParseFromString(stored->file.Serialize()));
    }
    return file;
  }

  // A paged key file holding `file` as its only record, built as key_file_store.h
  // describes it (independently of the code under test).
  static std::string PagedFileHolding(const v1::KeyFile& file) {
    std::string payload = file.SerializeAsString();
    std::string page = "TMVKEY03";
    for (int i = 0; i < 8; ++i) page.push_back(static_cast<char>(i == 0 ? 7 : 0));
    for (int i = 0; i < 4; ++i)
      page.push_back(static_cast<char>((payload.size() >> (8 * i)) & 0xff));
    page += payload;
    page += crypto::Hash256("temoin/vault-key-page/v1", page);
    page.resize(kKeyFilePageBytes, '\0');
    return page + std::string(kKeyFilePageBytes, '\x5a');
  }

  static ino_t Inode(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0);
    return st.st_ino;
  }

  std::string home_;
};

// The names on disk are the one-shot HMACs (crypto::Mac) of vault.cc's messages under
// the index key, as every vault before crypto::MacKey wrote them: a vault written then
// reads now. The expected key is built here from the key file, not by the vault.
TEST_F(VaultTest, StoreKeysOnDiskAreTheOneShotMacsOfNamespaceAndName) {
  {
    auto vault = MustCreateCheap();
    ASSERT_NE(vault, nullptr);
    ASSERT_TRUE(vault->Put("outbox", "a", "alpha").ok());
  }
  absl::StatusOr<StoredKeyFile> stored = LoadKeyFile(home_ + "/vault.key");
  ASSERT_TRUE(stored.ok()) << stored.status();
  absl::StatusOr<UnlockedSlot> unlocked = stored->file.Unlock(kPassphrase);
  ASSERT_TRUE(unlocked.ok()) << unlocked.status();
  const crypto::SecretBuffer index_key = crypto::DeriveSubkey(unlocked->key, "tmvault_", 2);
  const std::string expected = crypto::Mac(index_key, "ns/outbox").substr(0, 8) +
                               crypto::Mac(index_key, "name/6/outboxa").substr(0, 16);
  std::vector<std::string> keys;
  TamperRaw([&](rocksdb::DB* db) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) keys.push_back(it->key().ToString());
  });
  EXPECT_EQ(keys, std::vector<std::string>{expected});
}

TEST_F(VaultTest, ValuesRoundTripAcrossReopen) {
  {
    auto vault = MustCreate();
    ASSERT_NE(vault, nullptr);
    ASSERT_TRUE(vault->Put("outbox", "a", "first").ok());
    VaultBatch batch;
    batch.Put("outbox", "b", "second");
    batch.Put("profile", "self", "me");
    ASSERT_TRUE(vault->Commit(batch).ok());
  }
  absl::StatusOr<std::unique_ptr<Vault>> vault = Vault::Open(home_, kPassphrase);
  ASSERT_TRUE(vault.ok()) << vault.status();
  EXPECT_EQ(*(*vault)->Get("outbox", "a").value(), "first");
  EXPECT_FALSE((*vault)->Get("outbox", "missing").value().has_value());
  std::map<std::string, std::string> seen;
  ASSERT_TRUE((*vault)
                  ->Scan("outbox",
                         [&](absl::string_view name, absl::string_view value) {
                           seen[std::string(name)] = std::string(value);
                           return true;
                         })
                  .ok());
  EXPECT_EQ(seen, (std::map<std::string, std::string>{{"a", "first"}, {"b", "second"}}));
}

// `sync --watch` lets other commands in between its syncs: while released the store is
// another process's to open, and the watch gets it back only once that one is done.
TEST_F(VaultTest, AReleasedStoreIsOthersToOpenAndComesBackWithTheirWrites) {
  auto watch = MustCreateCheap();
  ASSERT_NE(watch, nullptr);
  ASSERT_TRUE(watch->Put("outbox", "a", "first").ok());
  watch->Release();
  EXPECT_TRUE(watch->released());
  EXPECT_EQ(watch->Get("outbox", "a").status().code(), absl::StatusCode::kFailedPrecondition);
  VaultBatch refused;
  refused.Put("outbox", "x", "lost?");
  EXPECT_EQ(watch->Commit(refused).code(), absl::StatusCode::kFailedPrecondition);
  {
    absl::StatusOr<std::unique_ptr<Vault>> other = Vault::Open(home_, kPassphrase);
    ASSERT_TRUE(other.ok()) << other.status();
    ASSERT_TRUE((*other)->Put("outbox", "b", "second").ok());
    absl::Status busy = watch->Reacquire();
    EXPECT_EQ(busy.code(), absl::StatusCode::kUnavailable) << busy;
    EXPECT_TRUE(watch->released());
  }
  ASSERT_TRUE(watch->Reacquire().ok());
  EXPECT_FALSE(watch->released());
  EXPECT_EQ(*watch->Get("outbox", "a").value(), "first");
  EXPECT_EQ(*watch->Get("outbox", "b").value(), "second");
  EXPECT_FALSE(watch->Get("outbox", "x").value().has_value());
  EXPECT_TRUE(watch->Reacquire().ok());  // held already: nothing to do
}

// A watch's reopen and a wipe exclude each other: a reopen that starts while a wipe holds
// the key waits, then finds the key gone and refuses, and leaves the store's directory as
// the wipe left it (RocksDB's open would have made its LOCK file there).
TEST_F(VaultTest, AReopenDuringAWipeWaitsForTheKeyThenRefuses) {
  auto watch = MustCreateCheap();
  ASSERT_NE(watch, nullptr);
  watch->Release();
  std::optional<KeyFileLock> wiping;
  {
    absl::StatusOr<KeyFileLock> taken =
        KeyFileLock::Exclusive(home_ + "/vault.key", std::chrono::seconds(5));
    ASSERT_TRUE(taken.ok()) << taken.status();
    wiping.emplace(std::move(*taken));
  }
  std::atomic<bool> returned{false};
  absl::Status reopened;
  std::thread reopen([&] {
    reopened = watch->Reacquire();
    returned = true;
  });
  // Whatever fails below, the reopen is let go and joined.
  absl::Cleanup join = [&] {
    wiping.reset();
    reopen.join();
  };
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(returned.load()) << "the reopen did not wait for the wipe";
  // The wipe's first step, under its lock: the key is overwritten and unlinked.
  EXPECT_TRUE(ShredFile(home_ + "/vault.key").ok());
  std::filesystem::remove(home_ + "/store/LOCK");
  std::move(join).Invoke();
  EXPECT_EQ(reopened.code(), absl::StatusCode::kFailedPrecondition) << reopened;
  EXPECT_TRUE(watch->released());
  EXPECT_FALSE(std::filesystem::exists(home_ + "/store/LOCK"));
}

// The wipe's side: it waits for an open under way (one holding the key's shared lock)
// before it touches the key, and not for ever: an opener stopped mid-open (Ctrl-Z, a
// frozen app) must not stop a duress or panic wipe.
TEST_F(VaultTest, AWipeWaitsForAnOpenUnderWayButNotForEver) {
  ASSERT_NE(MustCreateCheap(), nullptr);
  std::optional<KeyFileLock> opening;
  {
    absl::StatusOr<KeyFileLock> taken = KeyFileLock::Shared(home_ + "/vault.key");
    ASSERT_TRUE(taken.ok()) << taken.status();
    opening.emplace(std::move(*taken));
  }
  std::future<absl::Status> wiped =
      std::async(std::launch::async, [&] { return WipeVault(home_); });
  absl::Cleanup let_go = [&] { opening.reset(); };  // before `wiped` joins, whatever fails
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_TRUE(std::filesystem::exists(home_ + "/vault.key")) << "the wipe did not wait";
  // Never let go: the wipe goes on after its patience (10 s), well within this bound.
  ASSERT_EQ(wiped.wait_for(std::chrono::seconds(60)), std::future_status::ready)
      << "the wipe waited for ever for a stuck opener";
  EXPECT_TRUE(wiped.get().ok());
  EXPECT_FALSE(std::filesystem::exists(home_ + "/vault.key"));
}

// A duress unlock puts another vault in the place of the one a watch unlocked: the
// watch's keys must not open that store, even for a moment.
TEST_F(VaultTest, AReopenRefusesAnotherVaultInItsPlace) {
  auto watch = MustCreateCheap();
  ASSERT_NE(watch, nullptr);
  watch->Release();
  ASSERT_TRUE(WipeVault(home_).ok());
  {
    absl::StatusOr<std::unique_ptr<Vault>> other =
        Vault::Create(home_, "another passphrase", VaultOptions{kKdfFloor});
    ASSERT_TRUE(other.ok()) << other.status();
  }
  EXPECT_TRUE(watch->WipedOrReplaced());
  absl::Status reopened = watch->Reacquire();
  EXPECT_EQ(reopened.code(), absl::StatusCode::kFailedPrecondition) << reopened;
  EXPECT_TRUE(watch->released());
}

// A passphrase change (and any other key-file setting) is no wipe: a watch goes on.
TEST_F(VaultTest, AReopenAfterAPassphraseChangeGoesOn) {
  auto watch = MustCreateCheap();
  ASSERT_NE(watch, nullptr);
  ASSERT_TRUE(watch->Put("outbox", "a", "first").ok());
  watch->Release();
  ASSERT_TRUE(Vault::ChangePassphrase(home_, kPassphrase, "a new passphrase").ok());
  ASSERT_TRUE(Vault::SetUnlockLimit(home_, "a new passphrase", 5).ok());
  EXPECT_FALSE(watch->WipedOrReplaced());
  ASSERT_TRUE(watch->Reacquire().ok());
  EXPECT_EQ(*watch->Get("outbox", "a").value(), "first");
}

// A command that waits for a store another holds, across a wipe: it must not recreate
// the store's files under the wipe, nor open what is there after it.
TEST_F(VaultTest, AnOpenWaitingForTheStoreRefusesAVaultWipedMeanwhile) {
  absl::StatusOr<std::unique_ptr<Vault>> result = OpenWaitingAcross([&] {
    EXPECT_TRUE(WipeVault(home_).ok());  // as `temoin wipe` or a wipe order does
  });
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition) << result.status();
  std::vector<std::string> left;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(home_)) {
    left.push_back(entry.path().string());
  }
  EXPECT_TRUE(left.empty()) << left.front();
}

// A command that waits for a held store while the key it unlocked is rewritten (here a
// passphrase change; a duress unlock's new key is the case that matters) opens nothing:
// the key it finds is not the one its keys came from.
TEST_F(VaultTest, AnOpenWaitingForTheStoreRefusesAKeyRewrittenMeanwhile) {
  absl::StatusOr<std::unique_ptr<Vault>> result = OpenWaitingAcross(
      [&] { EXPECT_TRUE(Vault::ChangePassphrase(home_, kPassphrase, "a new passphrase").ok()); });
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition) << result.status();
  EXPECT_TRUE(absl::StrContains(result.status().message(), "key changed")) << result.status();
}

TEST_F(VaultTest, WrongPassphraseIsOneClearError) {
  MustCreate();
  absl::StatusOr<std::unique_ptr<Vault>> vault = Vault::Open(home_, "wrong horse");
  EXPECT_EQ(vault.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(vault.status().message(), "wrong passphrase");
}

TEST_F(VaultTest, CreateRefusesAnExistingVaultAndOpenNeedsOne) {
  MustCreate();
  EXPECT_EQ(Vault::Create(home_, kPassphrase).status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Vault::Open(home_ + "/nowhere", kPassphrase).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(VaultTest, KeyFileAskingForAWeakerKdfIsRefused) {
  MustCreate();
  v1::KeyFile file = Payload(KeyFileBytes());
  ASSERT_EQ(file.slots_size(), 2);
  file.set_memlimit(8 << 20);  // an attacker's cheap setting for fast guessing
  // As a format-2 file (the bare KeyFile) ...
  ASSERT_TRUE(WriteFileDurably(home_ + "/vault.key", file.SerializeAsString(), 0600).ok());
  EXPECT_EQ(Vault::Open(home_, kPassphrase).status().code(), absl::StatusCode::kDataLoss);
  // ... and inside a page with a correct checksum (the checksum is no key: anyone can
  // compute it).
  ASSERT_TRUE(WriteFileDurably(home_ + "/vault.key", PagedFileHolding(file), 0600).ok());
  EXPECT_EQ(Vault::Open(home_, kPassphrase).status().message(),
            "vault key file asks for a key-derivation cost below the floor");
}

TEST_F(VaultTest, TruncatedKeyFileIsDataLoss) {
  MustCreate();
  absl::StatusOr<std::string> bytes = ReadFileToString(home_ + "/vault.key");
  ASSERT_TRUE(bytes.ok());
  ASSERT_TRUE(WriteFileDurably(home_ + "/vault.key", bytes->substr(0, 10), 0600).ok());
  absl::Status status = Vault::Open(home_, kPassphrase).status();
  EXPECT_TRUE(status.code() == absl::StatusCode::kDataLoss ||
              status.code() == absl::StatusCode::kUnauthenticated)
      << status;
}

TEST_F(VaultTest, TamperedValueIsDataLoss) {
  { MustCreate()->Put("outbox", "a", "sealed record bytes").IgnoreError(); }
  TamperRaw([](rocksdb::DB* db) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    it->SeekToFirst();
    ASSERT_TRUE(it->Valid());
    std::string value = it->value().ToString();
    value[value.size() / 2] ^= 0x01;
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), it->key(), value).ok());
  });
  auto vault = Vault::Open(home_, kPassphrase);
  ASSERT_TRUE(vault.ok());
  EXPECT_EQ((*vault)->Get("outbox", "a").status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(VaultTest, CheckCountsEveryValueOfAWholeVault) {
  auto vault = MustCreate();
  ASSERT_TRUE(vault->Put("outbox", "a", "alpha").ok());
  ASSERT_TRUE(vault->Put("drafts", "b", "bravo").ok());
  absl::StatusOr<Vault::CheckReport> report = vault->Check();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->values, 2u);
}

TEST_F(VaultTest, CheckFindsATamperedValueInAnyNamespace) {
  {
    auto vault = MustCreate();
    ASSERT_TRUE(vault->Put("outbox", "a", "alpha").ok());
    ASSERT_TRUE(vault->Put("drafts", "b", "bravo").ok());
  }
  TamperRaw([](rocksdb::DB* db) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    it->SeekToFirst();
    it->Next();  // the second value, whichever namespace it is in
    ASSERT_TRUE(it->Valid());
    std::string value = it->value().ToString();
    value[value.size() / 2] ^= 0x01;
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), it->key(), value).ok());
  });
  auto vault = Vault::Open(home_, kPassphrase);
  ASSERT_TRUE(vault.ok());
  absl::Status status = (*vault)->Check().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_NE(status.message().find("value 2 "), std::string::npos) << status;
  EXPECT_NE(status.message().find("failed authentication"), std::string::npos) << status;
}

TEST_F(VaultTest, CheckFindsADamagedBlockThatNoLookupReads) {
  {
    auto vault = MustCreate();
    ASSERT_TRUE(vault->Put("outbox", "a", std::string(10000, 'x')).ok());
  }
  TamperRaw([](rocksdb::DB* db) {
    ASSERT_TRUE(db->CompactRange(rocksdb::CompactRangeOptions(), nullptr, nullptr).ok());
  });
  std::string table;
  for (const auto& entry : fs::directory_iterator(home_ + "/store")) {
    if (entry.path().extension() == ".sst") table = entry.path().string();
  }
  ASSERT_FALSE(table.empty());
  absl::StatusOr<std::string> bytes = ReadFileToString(table);
  ASSERT_TRUE(bytes.ok());
  (*bytes)[32] ^= 0x5a;  // the first data block, which opening the vault does not read
  ASSERT_TRUE(WriteFileDurably(table, *bytes, 0600).ok());
  auto vault = Vault::Open(home_, kPassphrase);
  ASSERT_TRUE(vault.ok()) << vault.status();
  absl::Status status = (*vault)->Check().status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss) << status;
  EXPECT_NE(status.message().find(fs::path(table).filename().string()), std::string::npos)
      << status;
}

TEST_F(VaultTest, ValueMovedToAnotherKeyIsDataLoss) {
  {
    auto vault = MustCreate();
    ASSERT_TRUE(vault->Put("outbox", "a", "alpha").ok());
    ASSERT_TRUE(vault->Put("outbox", "b", "bravo").ok());
  }
  TamperRaw([](rocksdb::DB* db) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    std::vector<std::pair<std::string, std::string>> rows;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      rows.emplace_back(it->key().ToString(), it->value().ToString());
    }
    ASSERT_EQ(rows.size(), 2u);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), rows[0].first, rows[1].second).ok());
  });
  auto vault = Vault::Open(home_, kPassphrase);
  ASSERT_TRUE(vault.ok());
  bool one_failed = !(*vault)->Get("outbox", "a").ok() || !(*vault)->Get("outbox", "b").ok();
  EXPECT_TRUE(one_failed);
}

TEST_F(VaultTest, NeitherNamesNorValuesReachTheDiskInClear) {
  {
    auto vault = MustCreate();
    for (int i = 0; i < 200; ++i) {
      ASSERT_TRUE(vault
                      ->Put("outbox", "NAME-MARKER-" + std::to_string(i),
                            "VALUE-MARKER-" + std::to_string(i))
                      .ok());
    }
  }
  // Force the memtable into SST files too, so both the WAL and tables are scanned.
  TamperRaw([](rocksdb::DB* db) {
    ASSERT_TRUE(db->CompactRange(rocksdb::CompactRangeOptions(), nullptr, nullptr).ok());
  });
  std::string bytes = AllBytes();
  EXPECT_EQ(bytes.find("NAME-MARKER"), std::string::npos);
  EXPECT_EQ(bytes.find("VALUE-MARKER"), std::string::npos);
  EXPECT_EQ(bytes.find("outbox"), std::string::npos);
  EXPECT_EQ(bytes.find(kPassphrase), std::string::npos);
}

TEST_F(VaultTest, PassphraseChangeKeepsTheDataAndRetiresTheOldPassphrase) {
  { ASSERT_TRUE(MustCreate()->Put("outbox", "a", "kept").ok()); }
  ASSERT_TRUE(Vault::ChangePassphrase(home_, kPassphrase, "a new passphrase").ok());
  EXPECT_EQ(Vault::Open(home_, kPassphrase).status().message(), "wrong passphrase");
  auto vault = Vault::Open(home_, "a new passphrase");
  ASSERT_TRUE(vault.ok()) << vault.status();
  EXPECT_EQ(*(*vault)->Get("outbox", "a").value(), "kept");
  EXPECT_EQ(Vault::ChangePassphrase(home_, "not it", "x").code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(VaultTest, DuressPassphraseWipesAndPresentsAFreshEmptyVault) {
  { ASSERT_TRUE(MustCreate()->Put("outbox", "a", "secret").ok()); }
  ASSERT_TRUE(Vault::SetDuressPassphrase(home_, kPassphrase, "duress words").ok());
  std::string key_file_before = *ReadFileToString(home_ + "/vault.key");
  auto vault = Vault::Open(home_, "duress words");
  ASSERT_TRUE(vault.ok()) << vault.status();
  EXPECT_FALSE((*vault)->Get("outbox", "a").value().has_value());
  // It works like any vault, under the duress passphrase, and the real one is gone.
  ASSERT_TRUE((*vault)->Put("outbox", "b", "new").ok());
  vault->reset();
  EXPECT_EQ(Vault::Open(home_, kPassphrase).status().message(), "wrong passphrase");
  auto again = Vault::Open(home_, "duress words");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*(*again)->Get("outbox", "b").value(), "new");
  // Same shape of key file as before: nothing tells a fresh vault from a wiped one.
  EXPECT_EQ(ReadFileToString(home_ + "/vault.key")->size(), key_file_before.size());
}

TEST_F(VaultTest, DuressPassphraseMustDifferFromThePassphrase) {
  MustCreate();
  EXPECT_EQ(Vault::SetDuressPassphrase(home_, kPassphrase, kPassphrase).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(VaultTest, KeyFilesWithAndWithoutDuressHaveTheSameSize) {
  MustCreate();
  size_t before = ReadFileToString(home_ + "/vault.key")->size();
  ASSERT_TRUE(Vault::SetDuressPassphrase(home_, kPassphrase, "duress words").ok());
  EXPECT_EQ(ReadFileToString(home_ + "/vault.key")->size(), before);
}

TEST_F(VaultTest, CoverFileHasOneSizeWithAndWithoutDuress) {
  auto vault = MustCreateCheap();
  const std::string path = CoverFilePath(home_);
  std::string made = *ReadFileToString(path);
  EXPECT_EQ(made.size(), kCoverFileBytes);
  // Rewritten after a sync without duress: fresh noise of the same size.
  ASSERT_TRUE(vault->RefreshCover({}).ok());
  std::string refreshed = *ReadFileToString(path);
  EXPECT_EQ(refreshed.size(), kCoverFileBytes);
  EXPECT_NE(refreshed, made);
  ASSERT_TRUE(vault->Put("profile", "self", "enrolment-bytes").ok());
  vault.reset();
  CoverSelection selection{{"profile"}, {}};
  ASSERT_TRUE(Vault::SetDuressPassphrase(home_, kPassphrase, "duress words", selection).ok());
  std::string sealed = *ReadFileToString(path);
  EXPECT_EQ(sealed.size(), kCoverFileBytes);
  EXPECT_EQ(sealed.find("enrolment-bytes"), std::string::npos);
}

TEST_F(VaultTest, CoverOpensOnlyWithItsSecretKey) {
  crypto::BoxKeyPair pair = crypto::BoxKeyPair::Generate();
  crypto::BoxKeyPair other = crypto::BoxKeyPair::Generate();
  v1::CoverEnrolment enrolment;
  v1::CoverEntry* entry = enrolment.add_entries();
  entry->set_ns("profile");
  entry->set_name("self");
  entry->set_value("enrolment-bytes");
  absl::StatusOr<std::string> cover = SealCover(enrolment, pair.public_key());
  ASSERT_TRUE(cover.ok()) << cover.status();
  EXPECT_EQ(cover->size(), kCoverFileBytes);
  absl::StatusOr<v1::CoverEnrolment> opened = OpenCover(*cover, pair.secret_key());
  ASSERT_TRUE(opened.ok()) << opened.status();
  ASSERT_EQ(opened->entries_size(), 1);
  EXPECT_EQ(opened->entries(0).value(), "enrolment-bytes");
  EXPECT_EQ(OpenCover(*cover, other.secret_key()).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(OpenCover(RandomCover(), pair.secret_key()).status().code(),
            absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(OpenCover(cover->substr(1), pair.secret_key()).status().code(),
            absl::StatusCode::kUnauthenticated);
  // Too large an enrolment is refused rather than truncated.
  entry->set_value(std::string(kCoverFileBytes, 'x'));
  EXPECT_EQ(SealCover(enrolment, pair.public_key()).status().code(),
            absl::StatusCode::kResourceExhausted);
}

TEST_F(VaultTest, DuressUnlockKeepsOnlyTheEnrolmentAndRaisesTheSignal) {
  {
    auto vault = MustCreateCheap();
    ASSERT_TRUE(vault->Put("profile", "self", "enrolment-bytes").ok());
    ASSERT_TRUE(vault->Put("outbox", "sent", "purged").ok());
    ASSERT_TRUE(vault->Put("outbox", "unsent", "sealed").ok());
    ASSERT_TRUE(vault->Put("draft", "d1", "draft words").ok());
    EXPECT_FALSE(*vault->UnderDuress());
  }
  CoverSelection selection{{"profile", "outbox"},
                           [](absl::string_view ns, absl::string_view, absl::string_view value) {
                             return ns != "outbox" || value == "purged";
                           }};
  ASSERT_TRUE(Vault::SetDuressPassphrase(home_, kPassphrase, "duress words", selection).ok());
  auto vault = Vault::Open(home_, "duress words");
  ASSERT_TRUE(vault.ok()) << vault.status();
  EXPECT_EQ(*(*vault)->Get("profile", "self").value(), "enrolment-bytes");
  EXPECT_EQ(*(*vault)->Get("outbox", "sent").value(), "purged");
  EXPECT_FALSE((*vault)->Get("outbox", "unsent").value().has_value());
  EXPECT_FALSE((*vault)->Get("draft", "d1").value().has_value());
  EXPECT_TRUE(*(*vault)->UnderDuress());
  EXPECT_FALSE((*vault)->Get(kDuressNs, "pk").value().has_value());
  // The new vault has no duress passphrase: its cover is noise again, of the same size.
  EXPECT_EQ(ReadFileToString(CoverFilePath(home_))->size(), kCoverFileBytes);
  vault->reset();
  EXPECT_EQ(Vault::Open(home_, kPassphrase).status().message(), "wrong passphrase");
}

TEST_F(VaultTest, UnlockLimitWipesAfterTooManyWrongPassphrases) {
  { ASSERT_TRUE(MustCreate()->Put("outbox", "a", "secret").ok()); }
  ASSERT_TRUE(Vault::SetUnlockLimit(home_, kPassphrase, 3).ok());
  EXPECT_EQ(Vault::Open(home_, "wrong 1").status().message(), "wrong passphrase");
  ASSERT_TRUE(Vault::Open(home_, kPassphrase).ok());  // a success resets the count
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Vault::Open(home_, "wrong").status().message(), "wrong passphrase");
  }
  EXPECT_FALSE(VaultExists(home_));
  EXPECT_EQ(Vault::Open(home_, kPassphrase).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(VaultTest, UnlockLimitIsOffByDefault) {
  MustCreate();
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(Vault::Open(home_, "wrong").ok());
  EXPECT_TRUE(Vault::Open(home_, kPassphrase).ok());
}

TEST_F(VaultTest, WipeLeavesNothingReadableEvenWithThePassphrase) {
  { ASSERT_TRUE(MustCreate()->Put("outbox", "a", "secret").ok()); }
  ASSERT_TRUE(WipeVault(home_).ok());
  EXPECT_FALSE(fs::exists(home_ + "/vault.key"));
  EXPECT_FALSE(fs::exists(home_ + "/store"));
  EXPECT_EQ(Vault::Open(home_, kPassphrase).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(WipeVault(home_).ok());  // idempotent
}

TEST_F(VaultTest, WrongPassphraseNeverRewritesTheKeyFile) {
  MustCreate();
  const std::string before = KeyFileBytes();
  EXPECT_FALSE(Vault::Open(home_, "wrong").ok());  // limit off: nothing is written at all
  EXPECT_EQ(KeyFileBytes(), before);
  ASSERT_TRUE(Vault::SetUnlockLimit(home_, kPassphrase, 5).ok());
  const std::string with_limit = KeyFileBytes();
  EXPECT_FALSE(Vault::Open(home_, "wrong").ok());
  EXPECT_FALSE(Vault::Open(home_, "wrong again").ok());
  EXPECT_EQ(KeyFileBytes(), with_limit);  // the count went elsewhere
  EXPECT_TRUE(Vault::Open(home_, kPassphrase).ok());
  EXPECT_EQ(KeyFileBytes(), with_limit);
}

TEST_F(VaultTest, KeyFileUpdatesOverwriteTheSameInodeAndLeaveNoOldRecord) {
  MustCreate();
  const std::string path = home_ + "/vault.key";
  const ino_t inode = Inode(path);
  const std::string first = KeyFileBytes();
  ASSERT_EQ(first.size(), kKeyFileBytes);
  const v1::KeyFile old_record = Payload(first);
  ASSERT_TRUE(Vault::ChangePassphrase(home_, kPassphrase, "new words").ok());
  ASSERT_TRUE(Vault::SetDuressPassphrase(home_, "new words", "duress words").ok());
  ASSERT_TRUE(Vault::SetUnlockLimit(home_, "new words", 4).ok());
  EXPECT_EQ(Inode(path), inode);
  const std::string now = KeyFileBytes();
  EXPECT_EQ(now.size(), kKeyFileBytes);
  // The master key sealed under the retired passphrase, and its salt, are nowhere in
  // the file any more (and, the inode being the same, not in blocks it freed).
  EXPECT_EQ(now.find(old_record.slots(0).sealed_key()), std::string::npos);
  EXPECT_EQ(now.find(old_record.slots(0).salt()), std::string::npos);
  EXPECT_EQ(now.find(old_record.slots(1).sealed_key()), std::string::npos);  // duress set
  EXPECT_EQ(Vault::Open(home_, kPassphrase).status().message(), "wrong passphrase");
  EXPECT_TRUE(Vault::Open(home_, "new words").ok());
}

TEST_F(VaultTest, AnUpdateTornBeforeItsNewRecordIsWholeKeepsTheOldPassphrase) {
  MustCreate();
  const std::string before = KeyFileBytes();
  absl::StatusOr<StoredKeyFile> stored = DecodeKeyFile(before);
  ASSERT_TRUE(stored.ok());
  // A crash in the middle of step 1: half of the new record reached the other page.
  ASSERT_TRUE(Vault::ChangePassphrase(home_, kPassphrase, "new words").ok());
  const std::string after = KeyFileBytes();
  const size_t target = (1 - stored->active_page) * kKeyFilePageBytes;
  std::string torn = before;
  torn.replace(target, 100, after, target, 100);
  ASSERT_TRUE(WriteFileDurably(home_ + "/vault.key", torn, 0600).ok());
  EXPECT_TRUE(Vault::Open(home_, kPassphrase).ok());
  EXPECT_FALSE(Vault::Open(home_, "new words").ok());
}

TEST_F(VaultTest, AnUpdateCutBeforeTheOldRecordIsErasedFinishesAtTheNextLoad) {
  MustCreate();
  const std::string before = KeyFileBytes();
  const v1::KeyFile old_record = Payload(before);
  const int active = DecodeKeyFile(before)->active_page;
  ASSERT_TRUE(Vault::ChangePassphrase(home_, kPassphrase, "new words").ok());
  // Step 1 done, step 2 not: the new record and the old one side by side.
  std::string cut = KeyFileBytes();
  cut.replace(active * kKeyFilePageBytes, kKeyFilePageBytes, before, active * kKeyFilePageBytes,
              kKeyFilePageBytes);
  ASSERT_TRUE(WriteFileDurably(home_ + "/vault.key", cut, 0600).ok());
  // Even a wrong passphrase's load erases the stale record; the new one wins.
  EXPECT_EQ(Vault::Open(home_, kPassphrase).status().message(), "wrong passphrase");
  EXPECT_EQ(KeyFileBytes().find(old_record.slots(0).sealed_key()), std::string::npos);
  EXPECT_TRUE(Vault::Open(home_, "new words").ok());
}

TEST_F(VaultTest, AFormatTwoKeyFileOpensAndItsFirstUpdateMovesToPages) {
  MustCreate();
  const v1::KeyFile record = Payload(KeyFileBytes());
  ASSERT_TRUE(WriteFileDurably(home_ + "/vault.key", record.SerializeAsString(), 0600).ok());
  EXPECT_TRUE(Vault::Open(home_, kPassphrase).ok());
  ASSERT_TRUE(Vault::ChangePassphrase(home_, kPassphrase, "new words").ok());
  EXPECT_EQ(KeyFileBytes().size(), kKeyFileBytes);
  EXPECT_TRUE(Vault::Open(home_, "new words").ok());
}

TEST_F(VaultTest, DeletingTheAttemptCountDoesNotResetIt) {
  MustCreate();
  ASSERT_TRUE(Vault::SetUnlockLimit(home_, kPassphrase, 5).ok());
  EXPECT_FALSE(Vault::Open(home_, "guess").ok());
  ASSERT_TRUE(fs::remove(home_ + "/vault.attempts"));
  // Missing counts as one short of the limit: the next wrong guess is the last.
  EXPECT_EQ(Vault::Open(home_, "guess").status().message(), "wrong passphrase");
  EXPECT_FALSE(VaultExists(home_));
}

TEST_F(VaultTest, SettingsCommandsCountTowardsTheUnlockLimit) {
  MustCreate();
  ASSERT_TRUE(Vault::SetUnlockLimit(home_, kPassphrase, 2).ok());
  EXPECT_FALSE(Vault::ChangePassphrase(home_, "guess", "x").ok());
  EXPECT_FALSE(Vault::SetUnlockLimit(home_, "guess", 0).ok());
  EXPECT_FALSE(VaultExists(home_));
}

TEST_F(VaultTest, WipeOverwritesEveryVaultFileInPlace) {
  {
    auto vault = MustCreate();
    ASSERT_NE(vault, nullptr);
    for (int i = 0; i < 50; ++i) {
      ASSERT_TRUE(vault->Put("outbox", std::to_string(i), std::string(2000, 'r')).ok());
    }
  }
  ASSERT_TRUE(Vault::SetUnlockLimit(home_, kPassphrase, 3).ok());
  ASSERT_TRUE(WriteFileDurably(home_ + "/store/draft-leftover", "a stray file", 0600).ok());
  // Hold every file open: after the wipe the descriptors still read the inodes, that is
  // what their freed blocks hold.
  struct Held {
    std::string name, bytes;
    int fd;
  };
  std::vector<Held> held;
  for (const auto& entry : fs::recursive_directory_iterator(home_)) {
    if (!entry.is_regular_file() || entry.file_size() == 0) continue;
    Held h{entry.path().string(), ReadFileToString(entry.path().string()).value_or(""),
           ::open(entry.path().c_str(), O_RDONLY | O_CLOEXEC)};
    ASSERT_GE(h.fd, 0);
    held.push_back(std::move(h));
  }
  ASSERT_GE(held.size(), 4u) << "key file, attempts, stray file and RocksDB's files";
  ASSERT_TRUE(WipeVault(home_).ok());
  EXPECT_TRUE(fs::is_empty(home_));
  for (Held& h : held) {
    std::string now(h.bytes.size(), '\0');
    EXPECT_EQ(::pread(h.fd, now.data(), now.size(), 0), static_cast<ssize_t>(now.size()));
    ::close(h.fd);
    size_t same = 0;
    for (size_t i = 0; i < now.size(); ++i) same += now[i] == h.bytes[i];
    // Noise agrees with any content on about one byte in 256.
    EXPECT_LT(same, now.size() / 16 + 4) << h.name << " was not overwritten";
  }
}

TEST(KdfCostTest, TakesTheStrongestCostUnderTheTargetAndNeverBelowTheFloor) {
  // One floor derivation took 0.1 s: an unlock (two derivations) at 256 MiB, t=3 takes
  // 0.8 s, at 256 MiB t=5 1.33 s, at 512 MiB t=3 1.6 s (too slow for 1.5 s).
  KdfCost cost = ChooseKdfCost(0.1, 16ull << 30, 1.5);
  EXPECT_EQ(cost.memlimit, 256ull << 20);
  EXPECT_EQ(cost.opslimit, 5u);
  // A slow device stays at the floor rather than going below it.
  cost = ChooseKdfCost(5.0, 16ull << 30, 1.5);
  EXPECT_EQ(cost.memlimit, kKdfFloor.memlimit);
  EXPECT_EQ(cost.opslimit, kKdfFloor.opslimit);
  // Never more than a quarter of the memory.
  cost = ChooseKdfCost(0.001, 1ull << 30, 1.5);
  EXPECT_LE(cost.memlimit, 256ull << 20);
}

}  // namespace
}  // namespace temoin::client
