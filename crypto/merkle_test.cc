#include "crypto/merkle.h"

#include <sodium.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <utility>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace temoin::crypto::merkle {
namespace {

namespace fs = std::filesystem;

// The RFC 6962 test leaves from which transparency-dev made the vectors.
const std::vector<std::string> kLeaves = {
    "",
    std::string("\x00", 1),
    "\x10",
    "\x20\x21",
    "\x30\x31",
    "\x40\x41\x42\x43",
    "\x50\x51\x52\x53\x54\x55\x56\x57",
    "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f"};

// A tree kept as the server keeps it: every complete subtree by (level, index).
class StoredTree {
 public:
  void Append(absl::string_view leaf) {
    absl::StatusOr<std::vector<Node>> nodes = NodesCompletedBy(reader(), size_, HashLeaf(leaf));
    ASSERT_TRUE(nodes.ok()) << nodes.status();
    for (Node& node : *nodes) nodes_[{node.level, node.index}] = std::move(node.hash);
    leaves_.emplace_back(leaf);
    ++size_;
  }
  NodeReader reader() {
    return [this](int level, uint64_t index) -> absl::StatusOr<std::string> {
      auto it = nodes_.find({level, index});
      if (it == nodes_.end()) return absl::NotFoundError("no such node");
      ++reads_;
      return it->second;
    };
  }
  // MTH straight from RFC 9162's definition, over the leaves.
  std::string ReferenceRoot(size_t begin, size_t end) const {
    if (end - begin == 1) return HashLeaf(leaves_[begin]);
    size_t k = 1;
    while (k * 2 < end - begin) k *= 2;
    return HashChildren(ReferenceRoot(begin, begin + k), ReferenceRoot(begin + k, end));
  }
  uint64_t size() const { return size_; }
  uint64_t reads_ = 0;

 private:
  std::map<std::pair<int, uint64_t>, std::string> nodes_;
  std::vector<std::string> leaves_;
  uint64_t size_ = 0;
};

std::string FromBase64(const nlohmann::json& value) {
  if (value.is_null()) return "";
  std::string out;
  EXPECT_TRUE(absl::Base64Unescape(value.get<std::string>(), &out)) << value;
  return out;
}

std::vector<std::string> ProofOf(const nlohmann::json& probe) {
  std::vector<std::string> proof;
  if (probe["proof"].is_null()) return proof;
  for (const auto& hash : probe["proof"]) proof.push_back(FromBase64(hash));
  return proof;
}

std::vector<fs::path> VectorFiles(const std::string& kind) {
  std::vector<fs::path> files;
  fs::path root = fs::path(TEMOIN_SOURCE_DIR) / "tests/vectors/merkle" / kind;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  return files;
}

nlohmann::json Load(const fs::path& path) {
  std::ifstream in(path);
  return nlohmann::json::parse(in);
}

TEST(MerkleVectorsTest, InclusionVectorsAcceptExactlyTheGoodProofs) {
  std::vector<fs::path> files = VectorFiles("inclusion");
  ASSERT_GT(files.size(), 50u);
  for (const fs::path& file : files) {
    nlohmann::json probe = Load(file);
    absl::Status status = VerifyInclusion(
        FromBase64(probe["leafHash"]), probe["leafIdx"].get<uint64_t>(),
        probe["treeSize"].get<uint64_t>(), ProofOf(probe), FromBase64(probe["root"]));
    EXPECT_EQ(status.ok(), !probe["wantErr"].get<bool>()) << file << ": " << status;
  }
}

TEST(MerkleVectorsTest, ConsistencyVectorsAcceptExactlyTheGoodProofs) {
  std::vector<fs::path> files = VectorFiles("consistency");
  ASSERT_GT(files.size(), 50u);
  for (const fs::path& file : files) {
    nlohmann::json probe = Load(file);
    absl::Status status =
        VerifyConsistency(probe["size1"].get<uint64_t>(), probe["size2"].get<uint64_t>(),
                          FromBase64(probe["root1"]), FromBase64(probe["root2"]), ProofOf(probe));
    EXPECT_EQ(status.ok(), !probe["wantErr"].get<bool>()) << file << ": " << status;
  }
}

// Our generator gives byte for byte the proofs of the vectors' happy paths.
TEST(MerkleVectorsTest, GeneratedProofsEqualTheVectors) {
  StoredTree tree;
  for (const std::string& leaf : kLeaves) tree.Append(leaf);
  int checked = 0;
  for (const fs::path& file : VectorFiles("inclusion")) {
    if (file.filename() != "happy-path.json") continue;
    nlohmann::json probe = Load(file);
    uint64_t size = probe["treeSize"];
    uint64_t index = probe["leafIdx"];
    absl::StatusOr<std::string> root = Root(tree.reader(), size);
    ASSERT_TRUE(root.ok()) << root.status();
    EXPECT_EQ(*root, FromBase64(probe["root"])) << file;
    absl::StatusOr<std::vector<std::string>> proof = InclusionProof(tree.reader(), index, size);
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_EQ(*proof, ProofOf(probe)) << file;
    ++checked;
  }
  for (const fs::path& file : VectorFiles("consistency")) {
    if (file.filename() != "happy-path.json") continue;
    nlohmann::json probe = Load(file);
    absl::StatusOr<std::vector<std::string>> proof =
        ConsistencyProof(tree.reader(), probe["size1"], probe["size2"]);
    ASSERT_TRUE(proof.ok()) << proof.status();
    EXPECT_EQ(*proof, ProofOf(probe)) << file;
    ++checked;
  }
  EXPECT_GE(checked, 8);
}

TEST(MerkleTest, EmptyTreeRootIsSha256OfNothing) {
  StoredTree tree;
  EXPECT_EQ(absl::Base64Escape(*Root(tree.reader(), 0)),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
}

// Every proof between every pair of sizes up to 70 verifies, against roots computed
// from the definition; a flipped bit anywhere is refused.
TEST(MerkleTest, AllProofsOfSmallTreesVerifyAndTamperedOnesDoNot) {
  StoredTree tree;
  std::vector<std::string> roots = {EmptyRoot()};
  for (int i = 0; i < 70; ++i) {
    tree.Append("leaf " + std::to_string(i));
    roots.push_back(tree.ReferenceRoot(0, tree.size()));
    ASSERT_EQ(*Root(tree.reader(), tree.size()), roots.back()) << tree.size();
  }
  for (uint64_t n = 1; n <= 70; ++n) {
    for (uint64_t m = 0; m < n; ++m) {
      auto proof = InclusionProof(tree.reader(), m, n);
      ASSERT_TRUE(proof.ok());
      std::string leaf = HashLeaf("leaf " + std::to_string(m));
      ASSERT_TRUE(VerifyInclusion(leaf, m, n, *proof, roots[n]).ok()) << m << "/" << n;
      if (!proof->empty()) {
        (*proof)[0][5] ^= 1;
        EXPECT_FALSE(VerifyInclusion(leaf, m, n, *proof, roots[n]).ok());
      }
      EXPECT_FALSE(
          VerifyInclusion(leaf, m, n, *InclusionProof(tree.reader(), m, n), roots[n - 1]).ok());
    }
    for (uint64_t m = 1; m <= n; ++m) {
      auto proof = ConsistencyProof(tree.reader(), m, n);
      ASSERT_TRUE(proof.ok());
      ASSERT_TRUE(VerifyConsistency(m, n, roots[m], roots[n], *proof).ok()) << m << "->" << n;
      if (m < n) {
        std::string forked = roots[m];
        forked[0] ^= 1;
        EXPECT_EQ(VerifyConsistency(m, n, forked, roots[n], *proof).code(),
                  absl::StatusCode::kDataLoss);
      }
    }
  }
}

// Roots and proofs read O(log n) stored nodes, not O(n) (at 2^17 leaves: a few dozen each).
TEST(MerkleTest, ProofsOfALargeTreeReadLogarithmicallyManyNodes) {
  StoredTree tree;
  const uint64_t n = (1 << 17) + 12345;
  for (uint64_t i = 0; i < n; ++i) tree.Append(std::to_string(i));
  tree.reads_ = 0;
  auto root = Root(tree.reader(), n);
  ASSERT_TRUE(root.ok());
  auto inclusion = InclusionProof(tree.reader(), 77777, n);
  ASSERT_TRUE(inclusion.ok());
  EXPECT_TRUE(VerifyInclusion(HashLeaf("77777"), 77777, n, *inclusion, *root).ok());
  auto consistency = ConsistencyProof(tree.reader(), 99999, n);
  ASSERT_TRUE(consistency.ok());
  auto old_root = Root(tree.reader(), 99999);
  EXPECT_TRUE(VerifyConsistency(99999, n, *old_root, *root, *consistency).ok());
  // Two roots, two proofs: each at most about 2 log2(n) nodes.
  EXPECT_LE(tree.reads_, 4u * 2 * 18);
}

// Every set of up to three leaves, and runs of adjacent ones, in every tree up to 40
// leaves: the multi-leaf proof verifies against the root from the definition, and a
// changed leaf, a flipped proof bit, a proof hash too many or too few, or another
// tree's root is refused.
TEST(MerkleTest, MultiLeafProofsOfSmallTreesVerifyAndTamperedOnesDoNot) {
  StoredTree tree;
  for (int i = 0; i < 40; ++i) tree.Append("leaf " + std::to_string(i));
  auto known = [](const std::vector<uint64_t>& indexes) {
    std::vector<KnownLeaf> leaves;
    for (uint64_t i : indexes) leaves.push_back({i, HashLeaf("leaf " + std::to_string(i))});
    return leaves;
  };
  for (uint64_t n = 1; n <= 40; ++n) {
    const std::string root = tree.ReferenceRoot(0, n);
    std::vector<std::vector<uint64_t>> sets;
    for (uint64_t a = 0; a < n; ++a) {
      sets.push_back({a});
      for (uint64_t b = a + 1; b < n; b += 3) {
        sets.push_back({a, b});
        if (b + 2 < n) sets.push_back({a, b, b + 2});
      }
      std::vector<uint64_t> run;
      for (uint64_t r = a; r < n && r < a + 9; ++r) run.push_back(r);
      sets.push_back(run);
    }
    for (const std::vector<uint64_t>& set : sets) {
      auto proof = MultiInclusionProof(tree.reader(), set, n);
      ASSERT_TRUE(proof.ok()) << proof.status();
      ASSERT_TRUE(VerifyMultiInclusion(known(set), n, *proof, root).ok()) << n;
      std::vector<KnownLeaf> changed = known(set);
      changed.back().hash = HashLeaf("another");
      EXPECT_EQ(VerifyMultiInclusion(changed, n, *proof, root).code(), absl::StatusCode::kDataLoss);
      if (!proof->empty()) {
        std::vector<std::string> flipped = *proof;
        flipped.back()[7] ^= 1;
        EXPECT_EQ(VerifyMultiInclusion(known(set), n, flipped, root).code(),
                  absl::StatusCode::kDataLoss);
        std::vector<std::string> shorter(proof->begin(), proof->end() - 1);
        EXPECT_EQ(VerifyMultiInclusion(known(set), n, shorter, root).code(),
                  absl::StatusCode::kInvalidArgument);
      }
      std::vector<std::string> longer = *proof;
      longer.push_back(std::string(kHashBytes, '\0'));
      EXPECT_EQ(VerifyMultiInclusion(known(set), n, longer, root).code(),
                absl::StatusCode::kInvalidArgument);
      // (The tree size is not bound by the proof, as with RFC 9162 paths: the signed
      // checkpoint binds it. The root is.)
      if (n > 1) {
        EXPECT_EQ(VerifyMultiInclusion(known(set), n, *proof, tree.ReferenceRoot(0, n - 1)).code(),
                  absl::StatusCode::kDataLoss);
      }
    }
  }
}

TEST(MerkleTest, MultiLeafProofsRefuseMalformedRequestsAndLeaves) {
  StoredTree tree;
  for (int i = 0; i < 8; ++i) tree.Append("leaf " + std::to_string(i));
  EXPECT_EQ(MultiInclusionProof(tree.reader(), {3, 2}, 8).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MultiInclusionProof(tree.reader(), {3, 3}, 8).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MultiInclusionProof(tree.reader(), {8}, 8).status().code(),
            absl::StatusCode::kInvalidArgument);
  const std::string root = tree.ReferenceRoot(0, 8);
  auto proof = MultiInclusionProof(tree.reader(), {2, 5}, 8);
  ASSERT_TRUE(proof.ok());
  std::vector<KnownLeaf> twice = {{2, HashLeaf("leaf 2")}, {2, HashLeaf("leaf 2")}};
  EXPECT_EQ(VerifyMultiInclusion(twice, 8, *proof, root).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(VerifyMultiInclusion({}, 8, {}, root).code(), absl::StatusCode::kInvalidArgument);
  // The verifier sorts: the same leaves in another order still verify.
  std::vector<KnownLeaf> reversed = {{5, HashLeaf("leaf 5")}, {2, HashLeaf("leaf 2")}};
  EXPECT_TRUE(VerifyMultiInclusion(reversed, 8, *proof, root).ok());
  // Every leaf known: no proof at all, and the root still has to match.
  std::vector<uint64_t> all = {0, 1, 2, 3, 4, 5, 6, 7};
  auto none = MultiInclusionProof(tree.reader(), all, 8);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

// 300 adjacent leaves of a log of 100,000: the size the issue 13 link figures depend on.
TEST(MerkleTest, MultiLeafProofOfARunIsLogarithmicNotLinear) {
  StoredTree tree;
  const uint64_t n = 100000;
  for (uint64_t i = 0; i < n; ++i) tree.Append(std::to_string(i));
  std::vector<uint64_t> run;
  std::vector<KnownLeaf> leaves;
  for (uint64_t i = 61234; i < 61234 + 300; ++i) {
    run.push_back(i);
    leaves.push_back({i, HashLeaf(std::to_string(i))});
  }
  auto proof = MultiInclusionProof(tree.reader(), run, n);
  ASSERT_TRUE(proof.ok());
  EXPECT_LE(proof->size(), 2u * 17);  // 300 separate paths: 300 * 17 hashes
  EXPECT_TRUE(VerifyMultiInclusion(leaves, n, *proof, *Root(tree.reader(), n)).ok());
}

}  // namespace
}  // namespace temoin::crypto::merkle
