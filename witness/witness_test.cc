#include "witness/witness.h"

#include <stdlib.h>

#include <map>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "common/file_util.h"
#include "crypto/checkpoint.h"
#include "crypto/cosignature.h"
#include "crypto/merkle.h"
#include "gtest/gtest.h"

namespace temoin::witness {
namespace {

namespace merkle = crypto::merkle;
constexpr char kOrigin[] = "temoin.log/test";

// An RFC 9162 tree in memory, built with the same code the server uses.
class TestTree {
 public:
  void Append(absl::string_view leaf) {
    merkle::NodeReader read = Reader();
    absl::StatusOr<std::vector<merkle::Node>> nodes =
        merkle::NodesCompletedBy(read, size_, merkle::HashLeaf(leaf));
    ASSERT_TRUE(nodes.ok());
    for (merkle::Node& n : *nodes) nodes_[{n.level, n.index}] = n.hash;
    ++size_;
  }
  void AppendMany(absl::string_view prefix, int count) {
    for (int i = 0; i < count; ++i) Append(absl::StrCat(prefix, size_));
  }
  uint64_t size() const { return size_; }
  std::string Root(uint64_t size) { return *merkle::Root(Reader(), size); }
  std::vector<std::string> Proof(uint64_t old_size, uint64_t new_size) {
    return *merkle::ConsistencyProof(Reader(), old_size, new_size);
  }

 private:
  merkle::NodeReader Reader() {
    return [this](int level, uint64_t index) -> absl::StatusOr<std::string> {
      return nodes_.at({level, index});
    };
  }
  std::map<std::pair<int, uint64_t>, std::string> nodes_;
  uint64_t size_ = 0;
};

class WitnessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "/temoin_witness_XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    ASSERT_TRUE(InitWitness(dir_, "witness.example.org/w1").ok());
    ASSERT_TRUE(AddLog(dir_, crypto::FormatVkey(kOrigin, log_key_.public_key())).ok());
    Reopen();
    absl::StatusOr<std::string> vkey = WitnessVkey(dir_);
    ASSERT_TRUE(vkey.ok()) << vkey.status();
    cosigner_ = *crypto::ParseCosignerVkey(*vkey);
  }
  void Reopen() {
    witness_.reset();
    absl::StatusOr<std::unique_ptr<Witness>> w = Witness::Open(dir_, &clock_);
    ASSERT_TRUE(w.ok()) << w.status();
    witness_ = *std::move(w);
  }

  std::string Note(TestTree& tree, uint64_t size, const crypto::SigningKey* key = nullptr) {
    crypto::Checkpoint checkpoint{kOrigin, size, tree.Root(size), {"temoin-audit 0 AA=="}};
    return *crypto::SignCheckpoint(checkpoint, key ? *key : log_key_);
  }
  absl::StatusOr<std::string> Submit(TestTree& tree, uint64_t old_size, uint64_t size) {
    AddCheckpointRequest request{old_size, {}, Note(tree, size)};
    if (old_size > 0 && old_size < size) request.proof = tree.Proof(old_size, size);
    // Through the wire format, as the HTTP adapter does.
    absl::StatusOr<AddCheckpointRequest> parsed = ParseAddCheckpoint(FormatAddCheckpoint(request));
    if (!parsed.ok()) return parsed.status();
    return witness_->AddCheckpoint(*parsed);
  }
  int EvidenceFiles() {
    int count = 0;
    const std::string log_dir = dir_ + "/logs/";
    for (const char* kind : {"fork", "rollback"}) {
      std::string cmd = absl::StrCat("ls ", log_dir, "*/evidence/", kind, "-* 2>/dev/null | wc -l");
      FILE* p = popen(cmd.c_str(), "r");
      int n = 0;
      if (p != nullptr && fscanf(p, "%d", &n) == 1) count += n;
      if (p != nullptr) pclose(p);
    }
    return count;
  }

  crypto::SigningKey log_key_ = crypto::SigningKey::Generate();
  FakeClock clock_{1700000000};
  std::string dir_;
  std::unique_ptr<Witness> witness_;
  crypto::CosignerVerifier cosigner_;
};

TEST_F(WitnessTest, CosignsTheFirstCheckpointAndExtensionsOfIt) {
  TestTree tree;
  tree.AppendMany("a", 5);
  absl::StatusOr<std::string> line = Submit(tree, 0, 5);
  ASSERT_TRUE(line.ok()) << line.status();
  crypto::NoteParts parts = *crypto::SplitNote(Note(tree, 5));
  absl::StatusOr<std::vector<crypto::VerifiedCosignature>> verified =
      crypto::VerifyCosignatures(parts.text, {line->substr(0, line->size() - 1)}, {cosigner_});
  ASSERT_TRUE(verified.ok()) << verified.status();
  ASSERT_EQ(verified->size(), 1u);
  EXPECT_EQ((*verified)[0].timestamp, 1700000000u);

  tree.AppendMany("a", 3);
  ASSERT_TRUE(Submit(tree, 5, 8).ok());
  ASSERT_TRUE(Submit(tree, 8, 8).ok());  // the same again: cosigned again
  EXPECT_EQ(EvidenceFiles(), 0);
}

TEST_F(WitnessTest, StateSurvivesARestart) {
  TestTree tree;
  tree.AppendMany("a", 6);
  ASSERT_TRUE(Submit(tree, 0, 6).ok());
  Reopen();
  absl::StatusOr<std::string> stale = Submit(tree, 0, 6);
  EXPECT_EQ(HttpStatusOf(stale.status()), 409);
  EXPECT_EQ(LatestSizeOf(stale.status()), 6u);
  absl::StatusOr<std::string> latest = witness_->LatestCheckpoint(
      "0000000000000000000000000000000000000000000000000000000000000000");
  EXPECT_EQ(HttpStatusOf(latest.status()), 404);
}

TEST_F(WitnessTest, ForkIsRefusedAndBothCheckpointsAreKept) {
  TestTree honest, forked;
  honest.AppendMany("a", 8);
  forked.AppendMany("a", 5);
  forked.AppendMany("evil", 4);  // leaves 5.. differ
  ASSERT_TRUE(Submit(honest, 0, 8).ok());
  // The forked tree's own proof from 8 to 9 cannot join the honest root at 8.
  absl::StatusOr<std::string> refused = Submit(forked, 8, 9);
  EXPECT_EQ(HttpStatusOf(refused.status()), 422) << refused.status();
  EXPECT_EQ(EvidenceFiles(), 2);
  // Nothing moved: the honest log still extends.
  honest.AppendMany("a", 2);
  EXPECT_TRUE(Submit(honest, 8, 10).ok());
}

TEST_F(WitnessTest, SameSizeWithAnotherRootIsAFork) {
  TestTree honest, forked;
  honest.AppendMany("a", 4);
  forked.AppendMany("b", 4);
  ASSERT_TRUE(Submit(honest, 0, 4).ok());
  EXPECT_EQ(HttpStatusOf(Submit(forked, 4, 4).status()), 422);
  EXPECT_EQ(EvidenceFiles(), 2);
  // Asked again, the same fork is not written twice.
  EXPECT_EQ(HttpStatusOf(Submit(forked, 4, 4).status()), 422);
  EXPECT_EQ(EvidenceFiles(), 2);
}

TEST_F(WitnessTest, RollbackIsRefusedAndKept) {
  TestTree tree;
  tree.AppendMany("a", 9);
  ASSERT_TRUE(Submit(tree, 0, 9).ok());
  absl::StatusOr<std::string> refused = Submit(tree, 0, 3);  // an old copy, from scratch
  EXPECT_EQ(HttpStatusOf(refused.status()), 409);
  EXPECT_EQ(LatestSizeOf(refused.status()), 9u);
  EXPECT_EQ(EvidenceFiles(), 2);
}

TEST_F(WitnessTest, RefusesUnknownLogsAndBadSignatures) {
  TestTree tree;
  tree.AppendMany("a", 2);
  crypto::SigningKey other = crypto::SigningKey::Generate();
  // Same origin, another key: no signature of the configured key.
  absl::StatusOr<std::string> forged = witness_->AddCheckpoint({0, {}, Note(tree, 2, &other)});
  EXPECT_EQ(HttpStatusOf(forged.status()), 403);
  crypto::Checkpoint unknown{"temoin.log/other", 2, tree.Root(2), {}};
  EXPECT_EQ(HttpStatusOf(
                witness_->AddCheckpoint({0, {}, *crypto::SignCheckpoint(unknown, other)}).status()),
            404);
  // A known key's signature that fails: refused whole.
  std::string note = Note(tree, 2);
  note[note.find('\n') + 1] = '3';  // size 2 -> 3 under the same signature
  EXPECT_EQ(HttpStatusOf(witness_->AddCheckpoint({0, {}, note}).status()), 403);
  EXPECT_EQ(EvidenceFiles(), 0);
}

// temoin-server keys next / switch: the log signs the same tree, under the same origin,
// with a new key. Once the operator adds it, the witness cosigns the new key's
// checkpoints that extend the one it cosigned under the old key, and still refuses
// the new key's forks and rollbacks.
TEST_F(WitnessTest, ARotatedLogKeyContinuesTheSameTree) {
  TestTree tree, forked;
  tree.AppendMany("a", 4);
  forked.AppendMany("b", 6);
  ASSERT_TRUE(Submit(tree, 0, 4).ok());
  crypto::SigningKey next = crypto::SigningKey::Generate();
  auto under_next = [&](TestTree& t, uint64_t old_size, uint64_t size) {
    AddCheckpointRequest request{old_size, {}, Note(t, size, &next)};
    if (old_size > 0 && old_size < size) request.proof = t.Proof(old_size, size);
    return witness_->AddCheckpoint(request);
  };
  tree.AppendMany("a", 2);
  // Not yet trusted: the new key's signature is no signature of the log's.
  EXPECT_EQ(HttpStatusOf(under_next(tree, 4, 6).status()), 403);
  ASSERT_TRUE(AddLog(dir_, crypto::FormatVkey(kOrigin, next.public_key())).ok());
  ASSERT_TRUE(AddLog(dir_, crypto::FormatVkey(kOrigin, next.public_key())).ok());  // idempotent
  Reopen();  // the held checkpoint, signed by the old key, still reads
  EXPECT_EQ(HttpStatusOf(under_next(forked, 4, 6).status()), 422);  // a fork, under the new key
  absl::StatusOr<std::string> line = under_next(tree, 4, 6);
  ASSERT_TRUE(line.ok()) << line.status();
  EXPECT_EQ(HttpStatusOf(under_next(tree, 0, 3).status()), 409);  // a rollback
  tree.AppendMany("a", 1);
  EXPECT_TRUE(Submit(tree, 6, 7).ok());  // the old key stays trusted until removed by hand
}

TEST_F(WitnessTest, RefusesMalformedRequests) {
  TestTree tree;
  tree.AppendMany("a", 3);
  const std::string note = Note(tree, 3);
  for (const std::string& body : {absl::StrCat("old 01\n\n", note), absl::StrCat("old x\n\n", note),
                                  absl::StrCat("new 0\n\n", note), std::string("old 0\n"),
                                  absl::StrCat("old 0\nnot-base64\n\n", note)}) {
    EXPECT_EQ(HttpStatusOf(ParseAddCheckpoint(body).status()), 400) << body;
  }
  std::string many = "old 1\n";
  for (int i = 0; i < 64; ++i) absl::StrAppend(&many, absl::Base64Escape(tree.Root(1)), "\n");
  EXPECT_FALSE(ParseAddCheckpoint(absl::StrCat(many, "\n", note)).ok());
  EXPECT_EQ(HttpStatusOf(witness_->AddCheckpoint({4, {}, note}).status()), 400);  // old > size
  EXPECT_EQ(HttpStatusOf(witness_->AddCheckpoint({0, {tree.Root(1)}, note}).status()), 422);
}

TEST_F(WitnessTest, OneProcessServesADirectory) {
  ASSERT_TRUE(witness_->Lock().ok());
  absl::StatusOr<std::unique_ptr<Witness>> second = Witness::Open(dir_, &clock_);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ((*second)->Lock().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(InitWitness(dir_, "again").code(), absl::StatusCode::kAlreadyExists);
}

}  // namespace
}  // namespace temoin::witness
