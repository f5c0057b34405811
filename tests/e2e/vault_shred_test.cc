// Overwrites that do overwrite (issue 15, item 5), checked where it matters: the raw
// bytes of a file system. A monitor's home and an original photo sit on a 256 MiB ext4
// image mounted through a loop device; the real `temoin` binary records the photo with
// --attach --delete-originals, sets an unlock limit, meets a wrong passphrase, changes
// the passphrase and sets a duress one, and finally wipes. Between steps the image is
// unmounted and scanned byte for byte:
//   - after the record and the key-file changes: no bytes of the original, and none of
//     any earlier version of vault.key (each copied aside before it changed) that the
//     current version does not also hold;
//   - after the wipe: no bytes of any vault.key version at all.
// The scan is shown able to see: a control file removed with a plain unlink is found
// in free blocks, the original is found before its deletion, and the current vault.key
// is found before the wipe. Otherwise an empty result would prove nothing.
//
// The image is mounted with default options: ext4's data=ordered journals metadata only,
// so file contents never land in the journal (data=journal would put a copy of every
// key-file write there, beyond any overwrite's reach). Needs root, mkfs.ext4 and a loop
// device; without them the test says why and is skipped. Synthetic data only.
//
// RocksDB's own files are not scanned: RocksDB deletes its obsolete logs and tables as
// it goes, without overwriting them, long before any wipe. Their contents are sealed
// values under keys that the wipe destroys; vault_test checks that the wipe overwrites
// every file that still exists.

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <unordered_set>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/e2e/deployment.h"
#include "tests/e2e/synthetic_testimony.h"

namespace temoin::e2e {
namespace {

namespace fs = std::filesystem;

constexpr char kPassphrase[] = "correct horse battery staple";  // the Deployment's
constexpr char kNewPassphrase[] = "a passphrase for after the change";
constexpr size_t kChunk = 32;
// Room for RocksDB, which preallocates its write-ahead log at ~1.1 write buffers (70 MiB).
constexpr uint64_t kImageBytes = 256 << 20;

std::string FirstExisting(const std::vector<std::string>& paths) {
  for (const std::string& path : paths) {
    if (fs::exists(path)) return path;
  }
  return "";
}

// A loop-mounted ext4 image; unmounted on destruction.
class ExtImage {
 public:
  // Skips (returns why) when this machine cannot make or mount one.
  static absl::StatusOr<std::unique_ptr<ExtImage>> Make(const std::string& dir) {
    if (::geteuid() != 0) return absl::FailedPreconditionError("needs root to mount");
    std::string mkfs = FirstExisting({"/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4"});
    std::string mount = FirstExisting({"/usr/bin/mount", "/bin/mount"});
    if (mkfs.empty() || mount.empty()) {
      return absl::FailedPreconditionError("needs mkfs.ext4 and mount (e2fsprogs, util-linux)");
    }
    std::unique_ptr<ExtImage> image(new ExtImage(dir + "/ext4.img", dir + "/mnt", mount));
    fs::create_directories(image->mount_point_);
    std::ofstream(image->path_).close();
    fs::resize_file(image->path_, kImageBytes);
    absl::StatusOr<CommandResult> made = RunCommand({mkfs, "-q", "-F", image->path_});
    if (!made.ok() || made->exit_code != 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("mkfs.ext4 failed: ", made.ok() ? made->err : made.status().ToString()));
    }
    if (absl::Status mounted = image->Mount(); !mounted.ok()) return mounted;
    return image;
  }
  ~ExtImage() {
    if (mounted_) ::umount2(mount_point_.c_str(), MNT_DETACH);
  }

  absl::Status Mount() {
    absl::StatusOr<CommandResult> r = RunCommand({mount_, "-o", "loop", path_, mount_point_});
    if (!r.ok() || r->exit_code != 0) {
      return absl::FailedPreconditionError(absl::StrCat("cannot loop-mount an ext4 image: ",
                                                        r.ok() ? r->err : r.status().ToString()));
    }
    mounted_ = true;
    return absl::OkStatus();
  }
  // Every byte of the image while mounted, after a sync (the loop device writes through
  // the backing file's page cache, so a read sees what the file system wrote).
  std::string SyncAndRead() {
    ::sync();
    return ReadFile(path_).value_or("");
  }
  // Unmounts (flushing everything) and returns every byte of the image.
  std::string UnmountAndRead() {
    EXPECT_EQ(::umount(mount_point_.c_str()), 0) << std::strerror(errno);
    mounted_ = false;
    return ReadFile(path_).value_or("");
  }
  const std::string& mount_point() const { return mount_point_; }

 private:
  ExtImage(std::string path, std::string mount_point, std::string mount)
      : path_(std::move(path)), mount_point_(std::move(mount_point)), mount_(std::move(mount)) {}
  std::string path_, mount_point_, mount_;
  bool mounted_ = false;
};

// The kChunk-byte pieces of `blob` at offsets that are multiples of kChunk, keeping only
// those that look random (at least 20 distinct byte values), so that zeros, headers and
// other shared structure never count as a find.
std::vector<std::string> DistinctiveChunks(const std::string& blob) {
  std::vector<std::string> chunks;
  for (size_t at = 0; at + kChunk <= blob.size(); at += kChunk) {
    std::string chunk = blob.substr(at, kChunk);
    if (std::unordered_set<char>(chunk.begin(), chunk.end()).size() >= 20) {
      chunks.push_back(std::move(chunk));
    }
  }
  return chunks;
}

// How many of `needles` occur in `image`. File data sits in whole 4 KiB blocks on ext4
// (mkfs's defaults have no inline_data), so a piece taken at a multiple of kChunk in a
// file lies at a multiple of kChunk in the image: one hash lookup per aligned offset
// instead of a search per needle. The controls below show that this finds what is there.
size_t CountFound(const std::string& image, const std::vector<std::string>& needles) {
  std::unordered_set<std::string> wanted(needles.begin(), needles.end());
  std::unordered_set<std::string> found;
  for (size_t at = 0; at + kChunk <= image.size(); at += kChunk) {
    std::string piece = image.substr(at, kChunk);
    if (wanted.count(piece) > 0) found.insert(std::move(piece));
  }
  return found.size();
}

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng());
  return out;
}

class VaultShredTest : public ::testing::Test {
 protected:
  CommandResult Temoin(const std::vector<std::string>& args, const std::string& passphrase,
                       const std::string& new_passphrase = "") {
    std::vector<std::string> argv = {ClientBinary(), "--home", home_};
    argv.insert(argv.end(), args.begin(), args.end());
    EnvVars env = {{"TEMOIN_PASSPHRASE", passphrase}, {"TEMOIN_VAULT_UNLOCK_MS", "1"}};
    if (!new_passphrase.empty()) env.push_back({"TEMOIN_NEW_PASSPHRASE", new_passphrase});
    absl::StatusOr<CommandResult> r = RunCommand(argv, env, std::chrono::seconds(120));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : CommandResult{};
  }

  // Copies the current vault.key aside (outside the image) unless it is already known.
  void KeepKeyFileVersion() {
    absl::StatusOr<std::string> bytes = ReadFile(home_ + "/vault.key");
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    if (key_versions_.empty() || key_versions_.back() != *bytes) key_versions_.push_back(*bytes);
  }

  std::string home_;
  std::vector<std::string> key_versions_;
};

TEST_F(VaultShredTest, DeletedOriginalsAndOldKeyFilesLeaveNoBytesOnTheDisk) {
  absl::StatusOr<std::unique_ptr<Deployment>> made = Deployment::Create("temoin-e2e-shred", 1);
  ASSERT_TRUE(made.ok()) << made.status();
  Deployment& d = **made;
  absl::StatusOr<std::unique_ptr<ExtImage>> image = ExtImage::Make(d.dir().path());
  if (!image.ok()) GTEST_SKIP() << image.status().message();
  const std::string mnt = (*image)->mount_point();

  // The enrolled monitor's home moves onto the image.
  home_ = mnt + "/home";
  absl::StatusOr<CommandResult> copied = RunCommand({"/bin/cp", "-a", d.monitors()[0], home_});
  ASSERT_TRUE(copied.ok() && copied->exit_code == 0);
  KeepKeyFileVersion();

  // The original: a 256 KiB "photo" of seeded noise, durably on the image.
  const std::string original = RandomBytes(256 << 10, 20261115);
  const std::string original_path = mnt + "/DCIM-0001.jpg";
  ASSERT_TRUE(WriteFile(original_path, original).ok());
  // The control: a file that a plain rm leaves in free blocks.
  const std::string control = RandomBytes(64 << 10, 777);
  ASSERT_TRUE(WriteFile(mnt + "/control.bin", control).ok());
  const std::vector<std::string> original_chunks = DistinctiveChunks(original);
  ASSERT_EQ(CountFound((*image)->SyncAndRead(), original_chunks), original_chunks.size())
      << "the original never reached the disk: its absence later would prove nothing";
  ASSERT_EQ(::unlink((mnt + "/control.bin").c_str()), 0);

  TestimonyGenerator generator(1115);
  const std::string testimony = d.dir().Sub("testimony.json");
  ASSERT_TRUE(WriteFile(testimony, TestimonyToJson(generator.Next())).ok());
  CommandResult recorded = Temoin({"record", "--project", kDeploymentProject, "--from", testimony,
                                   "--attach", original_path, "--delete-originals"},
                                  kPassphrase);
  ASSERT_EQ(recorded.exit_code, 0) << recorded.err;
  EXPECT_FALSE(fs::exists(original_path));
  EXPECT_TRUE(absl::StrContains(recorded.err, "flash storage")) << recorded.err;

  // Every key-file change the owner can make, and a wrong passphrase (which must not
  // write the key file at all).
  ASSERT_EQ(Temoin({"unlock-limit", "5"}, kPassphrase).exit_code, 0);
  KeepKeyFileVersion();
  const std::string before_guess = key_versions_.back();
  EXPECT_EQ(Temoin({"status"}, "a wrong guess").err, "temoin: wrong passphrase\n");
  EXPECT_TRUE(ReadFile(home_ + "/vault.key").value_or("") == before_guess)
      << "a wrong passphrase rewrote vault.key";
  CommandResult changed = Temoin({"passphrase", "change"}, kPassphrase, kNewPassphrase);
  ASSERT_EQ(changed.exit_code, 0) << changed.err;
  KeepKeyFileVersion();
  CommandResult duress = Temoin({"duress", "set"}, kNewPassphrase, "words for a checkpoint");
  ASSERT_EQ(duress.exit_code, 0) << duress.err;
  KeepKeyFileVersion();
  ASSERT_GE(key_versions_.size(), 4u);
  ASSERT_EQ(Temoin({"status"}, kNewPassphrase).exit_code, 0);

  std::string raw = (*image)->UnmountAndRead();
  ASSERT_EQ(raw.size(), kImageBytes);
  const std::vector<std::string> control_chunks = DistinctiveChunks(control);
  ASSERT_EQ(CountFound(raw, control_chunks), control_chunks.size())
      << "the scan does not see bytes a plain rm leaves behind: it would prove nothing here";
  EXPECT_EQ(CountFound(raw, original_chunks), 0u)
      << "bytes of the deleted original are still on the disk";
  const std::string& current = key_versions_.back();
  const std::vector<std::string> current_chunks = DistinctiveChunks(current);
  ASSERT_EQ(CountFound(raw, current_chunks), current_chunks.size())
      << "the scan does not see the live key file";
  std::unordered_set<std::string> live(current_chunks.begin(), current_chunks.end());
  for (size_t v = 0; v + 1 < key_versions_.size(); ++v) {
    std::vector<std::string> retired;
    for (std::string& chunk : DistinctiveChunks(key_versions_[v])) {
      if (live.count(chunk) == 0) retired.push_back(std::move(chunk));
    }
    EXPECT_FALSE(retired.empty());
    EXPECT_EQ(CountFound(raw, retired), 0u) << "key file version " << v << " is still on the disk";
  }

  // The wipe: nothing of any key file version may remain.
  ASSERT_TRUE((*image)->Mount().ok());
  CommandResult wiped = Temoin({"wipe", "--yes"}, "");
  ASSERT_EQ(wiped.exit_code, 0) << wiped.err;
  EXPECT_TRUE(absl::StrContains(wiped.err, "flash storage")) << wiped.err;
  EXPECT_TRUE(fs::is_empty(home_));
  raw = (*image)->UnmountAndRead();
  ASSERT_EQ(CountFound(raw, control_chunks), control_chunks.size());
  for (size_t v = 0; v < key_versions_.size(); ++v) {
    EXPECT_EQ(CountFound(raw, DistinctiveChunks(key_versions_[v])), 0u)
        << "key file version " << v << " survived the wipe";
  }
}

}  // namespace
}  // namespace temoin::e2e
